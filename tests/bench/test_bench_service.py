"""The serving benchmark's repeats: one cell from several interleaved runs."""

import math

from bench.bench_service import Result, merge


def _run(rate: float, n: int, batch: float, errors: dict[int, int] | None = None) -> Result:
    r = Result("m", "dct", 16, latencies=[0.01] * n, errors=errors or {}, elapsed=n / rate, mean_batch=batch)
    r.server_read_ms = [1.0] * n
    return r


def test_a_merged_cell_reports_the_median_rate_and_pools_everything_else() -> None:
    runs = [_run(100.0, 100, 4.0), _run(80.0, 80, 2.0, {503: 2}), _run(120.0, 120, 3.0, {503: 1})]
    m = merge(runs)
    assert math.isclose(m.rate, 100.0)  # the median, not the pooled 300 / 3 s (also 100 here, so check below)
    assert len(m.latencies) == 300 and len(m.server_read_ms) == 300 and m.errors == {503: 3}
    assert math.isclose(m.mean_batch, 3.0) and math.isclose(m.spread, 0.4) and math.isclose(m.pct(50), 10.0)
    skewed = merge([_run(100.0, 10, 1.0), _run(50.0, 500, 1.0), _run(90.0, 10, 1.0)])
    assert math.isclose(skewed.rate, 90.0)  # pooled would be 520 / 10.3 s ~ 50


def test_a_single_run_is_its_own_rate_with_no_spread() -> None:
    r = _run(42.0, 84, 1.0)
    assert math.isclose(r.rate, 42.0) and r.spread == 0.0
    assert math.isclose(merge([r]).rate, 42.0) and merge([r]).spread == 0.0
