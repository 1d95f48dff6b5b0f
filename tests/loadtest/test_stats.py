"""Percentiles and step summaries, checked against numpy on small inputs made here."""

import math

import numpy as np
import pytest

from loadtest.stats import Sample, errors_by_status, percentile, summarize


@pytest.mark.parametrize("values", [[5.0], [3.0, 1.0], [1.0, 2.0, 3.0, 4.0], [float(v) for v in range(101)]])
@pytest.mark.parametrize("q", [0, 1, 50, 90, 95, 99, 99.9, 100])
def test_percentile_matches_numpy_linear(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_random_against_numpy() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(size=257).tolist()
    for q in (50, 90, 95, 99):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_does_not_mutate_input() -> None:
    values = [3.0, 1.0, 2.0]
    percentile(values, 50)
    assert values == [3.0, 1.0, 2.0]


def test_percentile_empty_is_nan_and_range_is_checked() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match=r"within \[0, 100\]"):
        percentile([1.0], 101)


def _ok(latency_s: float, input_bytes: int = 100) -> Sample:
    return Sample(200, latency_s, bytes_sent=1000, input_bytes=input_bytes, server_timings_ms={"queue": 1, "infer": 3})


def test_summarize_counts_throughput_and_percentiles_over_successes_only() -> None:
    samples = [_ok(0.010), _ok(0.020), _ok(0.030), _ok(0.040, input_bytes=200)]
    # Fast rejections and a timeout: counted as errors, kept out of the latency figures.
    samples += [Sample(503, 0.001, 1000), Sample(503, 0.001, 1000), Sample("timeout", 30.0, 1000)]
    row = summarize(samples, wall_s=2.0)
    assert row["requests"] == 7
    assert row["ok"] == 4
    assert row["errors"] == 3
    assert row["error_rate"] == pytest.approx(3 / 7)
    assert row["throughput_rps"] == pytest.approx(2.0)
    assert row["p50_ms"] == pytest.approx(25.0)
    assert row["max_ms"] == pytest.approx(40.0)
    assert row["mean_ms"] == pytest.approx(25.0)
    assert row["bytes_sent"] == 7000
    assert row["mean_input_bytes"] == pytest.approx(125.0)
    assert row["server_queue_ms_mean"] == pytest.approx(1.0)
    assert row["server_infer_ms_mean"] == pytest.approx(3.0)
    assert row["errors_by_status"] == {"503": 2, "timeout": 1}


def test_summarize_no_success_gives_nan_latency_not_an_exception() -> None:
    row = summarize([Sample(503, 0.001, 10)], wall_s=1.0)
    assert row["ok"] == 0
    assert row["error_rate"] == 1.0
    assert math.isnan(row["p99_ms"])
    assert math.isnan(row["mean_input_bytes"])


def test_summarize_empty_step() -> None:
    row = summarize([], wall_s=0.0)
    assert row["requests"] == 0
    assert row["error_rate"] == 0.0
    assert row["throughput_rps"] == 0.0


def test_errors_by_status_is_sorted_and_skips_200() -> None:
    samples = [Sample("timeout", 1, 1), Sample(413, 1, 1), Sample(200, 1, 1), Sample(413, 1, 1)]
    assert list(errors_by_status(samples).items()) == [("413", 2), ("timeout", 1)]


def test_summarize_reports_drnet_resolutions_largest_first_and_mean_gflops() -> None:
    samples = [
        Sample(200, 0.01, 10, 100, resolution=96, gflops=1.0),
        Sample(200, 0.01, 10, 100, resolution=160, gflops=3.0),
        Sample(200, 0.01, 10, 100, resolution=96, gflops=1.0),
        Sample(503, 0.01, 10),
    ]
    row = summarize(samples, 1.0)
    assert row["resolutions"] == {"160": 1, "96": 2}
    assert row["mean_gflops"] == pytest.approx(5 / 3)


def test_summarize_non_drnet_has_no_resolutions() -> None:
    row = summarize([_ok(0.01)], 1.0)
    assert row["resolutions"] == {}
    assert math.isnan(row["mean_gflops"])
