"""--fail-if expressions: parsing, evaluation per step, and the k6-like verdicts."""

import math

import pytest

from loadtest.thresholds import Threshold, check, parse_threshold


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("p99_ms>500", Threshold("p99_ms>500", "p99_ms", ">", 500.0)),
        (" error_rate >= 0.01 ", Threshold("error_rate >= 0.01", "error_rate", ">=", 0.01)),
        ("throughput_rps<1e2", Threshold("throughput_rps<1e2", "throughput_rps", "<", 100.0)),
        ("rgb_resnet:p95_ms!=0", Threshold("rgb_resnet:p95_ms!=0", "p95_ms", "!=", 0.0, model="rgb_resnet")),
    ],
)
def test_parse_threshold(expr: str, expected: Threshold) -> None:
    assert parse_threshold(expr) == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("p99_ms", "expected '\\[model:\\]metric<op>value'"),
        ("p99_ms=>5", "expected"),
        ("latency>5", "unknown metric 'latency'"),
        ("p99_ms>1.2.3", "is not a number"),
    ],
)
def test_parse_threshold_rejects(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_threshold(expr)


def _row(model: str, p99: float, error_rate: float = 0.0, level: int = 4) -> dict[str, object]:
    return {"model": model, "mode": "closed", "level": level, "p99_ms": p99, "error_rate": error_rate}


def test_check_reports_each_crossing_step() -> None:
    rows = [_row("a", 100.0), _row("a", 900.0, level=16), _row("b", 200.0)]
    [verdict] = check([parse_threshold("p99_ms>500")], rows)
    assert verdict["passed"] is False
    assert verdict["crossed"] == [{"model": "a", "mode": "closed", "level": 16, "value": 900.0}]


def test_check_passes_when_no_step_crosses() -> None:
    verdicts = check([parse_threshold("p99_ms>500"), parse_threshold("error_rate>0.01")], [_row("a", 10.0)])
    assert [v["passed"] for v in verdicts] == [True, True]


def test_model_scoped_threshold_ignores_other_models() -> None:
    rows = [_row("a", 900.0), _row("b", 100.0)]
    [verdict] = check([parse_threshold("b:p99_ms>500")], rows)
    assert verdict["passed"] is True


def test_threshold_on_a_model_that_did_not_run_fails() -> None:
    [verdict] = check([parse_threshold("nope:p99_ms>500")], [_row("a", 1.0)])
    assert verdict["passed"] is False


def test_unmeasurable_figure_counts_as_crossed() -> None:
    # No successful request -> no p99; a latency gate must not pass on that.
    [verdict] = check([parse_threshold("p99_ms>500")], [_row("a", math.nan, error_rate=1.0)])
    assert verdict["passed"] is False
