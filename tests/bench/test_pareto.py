"""MODEL_CARD's Pareto table: one row per evaluated model, joined with the served throughput."""

import math
from pathlib import Path

from bench.pareto import markdown, plot, rows, standard_error

EVALS = [
    {
        "model": "rgb",
        "top1": 0.75,
        "val_images": 900,
        "gflops": 0.49,
        "params": 2.8e6,
        "input_bytes": 150528,
        "train_seconds": 2400.0,
    },
    {
        "model": "dct",
        "top1": 0.78,
        "val_images": 900,
        "gflops": 0.32,
        "params": 6.3e6,
        "input_bytes": 61440,
        "train_seconds": 1300.0,
        "against": {"only_this_right": 90, "only_other_right": 63, "p_value": 0.035},
    },
]
BENCH = {
    "results": [
        {"model": "rgb", "kind": "rgb", "concurrency": 16, "img_per_s": 140.0},
        {"model": "dct", "kind": "dct", "concurrency": 16, "img_per_s": 200.0},
        {"model": "dct", "kind": "dct", "concurrency": 1, "img_per_s": 99.0},
    ]
}


def test_standard_error_of_a_proportion() -> None:
    assert math.isclose(standard_error(0.75, 900), 0.01443, rel_tol=1e-3)


def test_rows_join_evaluations_with_the_same_concurrencys_throughput_best_first() -> None:
    table = rows(EVALS, BENCH, 16)
    assert [r["model"] for r in table] == ["dct", "rgb"]
    assert table[0]["img_per_s"] == 200.0 and table[0]["kind"] == "dct"
    assert math.isclose(table[1]["train_min"], 40.0)


def test_markdown_has_one_row_per_model_with_its_paired_comparison() -> None:
    text = markdown(rows(EVALS, BENCH, 16), 16)
    lines = text.splitlines()
    assert len(lines) == 4 and "img/s at c=1 / c=16" in lines[0] and "p99 ms at c=16" in lines[0]
    assert "| 99 / 200 |" in lines[2]  # the dct model's c=1 and c=16 rates
    assert (
        "| `dct` | dct | 78.0% ± 1.4 | - |" in lines[2] and "90 right only here, 63 only for RGB, p = 0.035" in lines[2]
    )
    assert "(the baseline)" in lines[3]


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    plot(rows(EVALS, BENCH, 16), out, 16)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_int8_twins_take_the_served_top1_and_the_float_twins_costs() -> None:
    served = {
        "photos": 900,
        "models": {
            "dct": {"top1": 0.781},
            "dct_int8": {"top1": 0.776, "agreement_with_float": 0.985, "against": None},
        },
    }
    bench = {
        "results": [*BENCH["results"], {"model": "dct_int8", "kind": "dct", "concurrency": 16, "img_per_s": 260.0}]
    }
    table = {r["model"]: r for r in rows(EVALS, bench, 16, served)}
    q = table["dct_int8"]
    assert (q["top1"], q["gflops"], q["img_per_s"], q["served_top1"]) == (0.776, 0.32, 260.0, 0.776)
    assert math.isnan(q["train_min"])
    assert table["dct"]["served_top1"] == 0.781 and table["rgb"]["served_top1"] is None
    assert "| `dct_int8` | dct | 77.6% ± 1.4 | 77.6% |" in markdown(list(table.values()), 16)
