"""Table, ratios, CSV and JSON output of a run."""

import csv
import json
import math
from pathlib import Path

import pytest

from loadtest.images import find_jpegs, load_payloads
from loadtest.report import (
    format_ratios,
    format_resolutions,
    format_table,
    level_label,
    throughput_ratios,
    write_csv,
    write_json,
)
from loadtest.stats import Sample, summarize


def _row(model: str, mode: str, level: float, latencies: list[float], wall: float) -> dict[str, object]:
    samples = [Sample(200, s, 1000, 500) for s in latencies] + [Sample(503, 0.001, 1000)]
    return {"model": model, "mode": mode, "level": level, **summarize(samples, wall)}


@pytest.fixture
def rows() -> list[dict[str, object]]:
    return [
        _row("dct", "closed", 4, [0.01, 0.02], wall=0.5),
        _row("rgb", "closed", 4, [0.04, 0.05], wall=1.0),
        _row("dct", "open", 50.0, [0.01], wall=1.0),
        _row("rgb", "open", 50.0, [0.02], wall=1.0),
    ]


def test_level_label() -> None:
    assert level_label("closed", 16) == "c=16"
    assert level_label("open", 50.0) == "50/s"
    assert level_label("open", 12.5) == "12.5/s"


def test_throughput_ratios_pair_matching_steps(rows: list[dict[str, object]]) -> None:
    ratios = throughput_ratios(rows, ["dct", "rgb"])
    assert [(r["mode"], r["level"]) for r in ratios] == [("closed", 4), ("open", 50.0)]
    assert ratios[0]["ratio"] == pytest.approx((2 / 0.5) / (2 / 1.0))
    assert ratios[1]["ratio"] == pytest.approx(1.0)
    assert "throughput dct / rgb at c=4: 2.00x" in format_ratios(ratios)


def test_no_ratio_for_a_single_model(rows: list[dict[str, object]]) -> None:
    assert throughput_ratios(rows, ["dct"]) == []


def test_table_has_a_line_per_row_and_lists_errors(rows: list[dict[str, object]]) -> None:
    table = format_table(rows).splitlines()
    assert len(table) == 1 + len(rows)
    assert table[0].split()[:3] == ["model", "step", "req"]
    assert table[1].startswith("dct")
    assert "503:1" in table[1]


def test_table_shows_dash_for_unmeasured_latency() -> None:
    row = {"model": "m", "mode": "closed", "level": 1, **summarize([Sample(503, 0.001, 10)], 1.0)}
    assert " - " in format_table([row])


def test_csv_has_one_row_per_step_and_flat_errors(rows: list[dict[str, object]], tmp_path: Path) -> None:
    path = tmp_path / "out" / "steps.csv"
    write_csv(rows, path)
    with path.open() as f:
        got = list(csv.DictReader(f))
    assert len(got) == len(rows)
    assert got[0]["model"] == "dct"
    assert got[0]["errors_by_status"] == "503:1"
    assert float(got[0]["throughput_rps"]) == pytest.approx(4.0)


def test_json_writes_nan_as_null(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_json({"steps": [{"p99_ms": math.nan, "errors_by_status": {"503": 1}}]}, path)
    assert json.loads(path.read_text()) == {"steps": [{"p99_ms": None, "errors_by_status": {"503": 1}}]}


def test_find_jpegs_is_recursive_and_case_insensitive(tmp_path: Path) -> None:
    for name in ("a.jpg", "sub/b.JPEG", "sub/deeper/c.jpeg", "d.png", "e.jpg.txt"):
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\xff\xd8" + name.encode())
    found = [p.relative_to(tmp_path).as_posix() for p in find_jpegs(tmp_path)]
    assert found == ["a.jpg", "sub/b.JPEG", "sub/deeper/c.jpeg"]
    assert load_payloads(tmp_path, limit=2) == [b"\xff\xd8a.jpg", b"\xff\xd8sub/b.JPEG"]


def test_load_payloads_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_payloads(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no \\*.jpg"):
        load_payloads(tmp_path)


def test_format_resolutions_lists_drnet_steps_only(rows: list[dict[str, object]]) -> None:
    drnet = {
        "model": "dr", "mode": "closed", "level": 4,
        **summarize([Sample(200, 0.01, 10, 1, resolution=r, gflops=1.5) for r in (96, 160, 96)], 1.0),
    }  # fmt: skip
    assert format_resolutions([*rows, drnet]) == "dr c=4: resolutions 160:1 96:2, 1.500 GFLOPs/image"
    assert format_resolutions(rows) == ""
