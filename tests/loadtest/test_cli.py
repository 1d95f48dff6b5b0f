"""The client end to end against a stub server on loopback: closed and open loop, reports, exit codes."""

import json
from pathlib import Path

import pytest

from loadtest.cli import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_THRESHOLD,
    EXIT_USAGE,
    build_parser,
    check_url,
    config_from_args,
    main,
)


def _run(url: str, images: Path, *extra: str) -> int:
    return main(["--url", url, "--images", str(images), "--quiet", "--warmup", "2", *extra])


def test_closed_loop_two_models_reports_ratio_csv_and_json(
    stub_url: str, jpeg_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    code = _run(
        stub_url, jpeg_dir, "--models", "fast,slow", "--concurrency", "1,4", "--requests", "24",
        "--json", str(out_json), "--csv", str(out_csv),
    )  # fmt: skip
    assert code == EXIT_OK
    doc = json.loads(out_json.read_text())
    steps = doc["steps"]
    assert [(s["model"], s["mode"], s["level"]) for s in steps] == [
        ("fast", "closed", 1), ("slow", "closed", 1), ("fast", "closed", 4), ("slow", "closed", 4),
    ]  # fmt: skip
    assert all(s["requests"] == 24 and s["ok"] == 24 and s["errors"] == 0 for s in steps)
    assert {s["model"]: s["mean_input_bytes"] for s in steps} == {"fast": 1000, "slow": 3000}
    sizes = sorted(p.stat().st_size for p in jpeg_dir.rglob("*") if p.is_file())
    assert sizes[0] * 24 <= steps[0]["bytes_sent"] <= sizes[-1] * 24
    slow_c1, slow_c4 = steps[1], steps[3]
    assert slow_c1["p50_ms"] >= 20  # the stub sleeps 20 ms
    assert slow_c4["throughput_rps"] > 2 * slow_c1["throughput_rps"]  # concurrency helps a sleeping server
    assert [r["ratio"] > 1 for r in doc["ratios"]] == [True, True]
    assert doc["images_loaded"] == 6
    assert len(out_csv.read_text().splitlines()) == 1 + 4
    printed = capsys.readouterr().out
    assert "throughput fast / slow at c=4:" in printed


def test_open_loop_charges_queueing_to_the_requests_that_waited(stub_url: str, jpeg_dir: Path, tmp_path: Path) -> None:
    # "serial" handles one request at a time in 50 ms; 12 requests due every 10 ms pile up behind each
    # other. Measured from their due times the last ones wait ~0.5 s; a closed loop would report ~50 ms.
    out = tmp_path / "r.json"
    code = _run(stub_url, jpeg_dir, "--models", "serial", "--rate", "100", "--requests", "12", "--json", str(out))
    assert code == EXIT_OK
    [step] = json.loads(out.read_text())["steps"]
    assert step["mode"] == "open" and step["level"] == 100.0 and step["requests"] == 12
    assert step["p50_ms"] > 150
    assert step["max_ms"] > 400
    assert step["max_ms"] < 2000


def test_duration_caps_a_step(stub_url: str, jpeg_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code = _run(
        stub_url, jpeg_dir, "--models", "slow", "--concurrency", "1", "--requests", "100000", "--duration", "0.3",
        "--json", str(out),
    )  # fmt: skip
    assert code == EXIT_OK
    [step] = json.loads(out.read_text())["steps"]
    assert 3 <= step["requests"] <= 20
    assert step["wall_s"] < 1.0


def test_errors_are_counted_by_status_and_a_threshold_fails_the_run(
    stub_url: str, jpeg_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    code = _run(
        stub_url, jpeg_dir, "--models", "flaky", "--concurrency", "2", "--requests", "30", "--warmup", "0",
        "--fail-if", "error_rate>0.01", "--fail-if", "p99_ms>60000", "--json", str(out),
    )  # fmt: skip
    assert code == EXIT_THRESHOLD
    doc = json.loads(out.read_text())
    [step] = doc["steps"]
    assert step["errors_by_status"] == {"503": step["errors"]}
    assert 8 <= step["errors"] <= 12
    assert [v["passed"] for v in doc["thresholds"]] == [False, True]
    assert "threshold error_rate>0.01: FAILED" in capsys.readouterr().out


def test_models_default_to_what_the_server_lists(stub_url: str, jpeg_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert _run(stub_url, jpeg_dir, "--concurrency", "2", "--requests", "4", "--json", str(out)) == EXIT_OK
    assert [s["model"] for s in json.loads(out.read_text())["steps"]] == ["fast", "slow", "serial", "flaky"]


def test_proxy_settings_in_the_environment_are_ignored(
    stub_url: str, jpeg_dir: Path, monkeypatch: pytest.MonkeyPatch, dead_url: str
) -> None:
    # Requests go to --url and nowhere else, whatever HTTP(S)_PROXY says.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(var, dead_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _run(stub_url, jpeg_dir, "--models", "fast", "--concurrency", "1", "--requests", "3") == EXIT_OK


def test_unknown_model_fails_the_run(stub_url: str, jpeg_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(stub_url, jpeg_dir, "--models", "fast,nope", "--requests", "2") == EXIT_RUN_FAILED
    assert "unknown model(s) nope; the server serves: fast, slow, serial, flaky" in capsys.readouterr().err


def test_unreachable_server_fails_the_run(dead_url: str, jpeg_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(dead_url, jpeg_dir, "--requests", "2") == EXIT_RUN_FAILED
    assert f"cannot reach {dead_url}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0"], "levels must be > 0"),
        (["--requests", "0"], "--requests must be >= 1"),
        (["--fail-if", "p99>5"], "unknown metric 'p99'"),
        (["--url", "ftp://127.0.0.1"], "expected http(s)://host"),
        (["--header", "novalue"], "expected 'Name: value'"),
        (["--models", "a,a"], "lists a model twice"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(
    jpeg_dir: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--images", str(jpeg_dir), *args])
    assert exc.value.code == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_empty_image_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--images", str(tmp_path)])
    assert exc.value.code == EXIT_USAGE
    assert "no *.jpg / *.jpeg files under" in capsys.readouterr().err


def test_defaults_sweep_1_4_16_on_loopback(jpeg_dir: Path) -> None:
    cfg = config_from_args(build_parser().parse_args(["--images", str(jpeg_dir)]))
    assert cfg.url == "http://127.0.0.1:8000"
    assert cfg.concurrency == (1, 4, 16)
    assert cfg.rates == ()


def test_rate_alone_runs_no_closed_loop_and_api_key_becomes_a_bearer_header(jpeg_dir: Path) -> None:
    args = build_parser().parse_args(["--images", str(jpeg_dir), "--rate", "25,50", "--api-key", "k"])
    cfg = config_from_args(args)
    assert cfg.concurrency == ()
    assert cfg.rates == (25.0, 50.0)
    assert cfg.headers == {"Authorization": "Bearer k"}


def test_check_url_strips_trailing_slash() -> None:
    assert check_url("http://localhost:9000/") == "http://localhost:9000"
    with pytest.raises(ValueError, match="no query"):
        check_url("http://localhost:9000/?x=1")


def test_top_k_is_sent_with_every_request(stub_url: str, jpeg_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["--models", "fast", "--concurrency", "1", "--rate", "50", "--requests", "4", "--json", str(out)]
    assert _run(stub_url, jpeg_dir, *args, "--top-k", "99") == EXIT_OK
    steps = json.loads(out.read_text())["steps"]
    assert [s["errors_by_status"] for s in steps] == [{"422": 4}, {"422": 4}]  # the stub refuses top_k > 7
