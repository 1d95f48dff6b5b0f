"""Pure summary statistics of one load-test step: percentiles, throughput, errors by status."""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)


@dataclass(frozen=True)
class Sample:
    """One measured request.

    ``status`` is the HTTP status, or a short tag (``timeout``, ``connect``, ...) when no answer came.
    ``latency_s`` runs from the request's *scheduled* send time (open loop) or its actual send time
    (closed loop) to the end of the answer.
    """

    status: int | str
    latency_s: float
    bytes_sent: int
    input_bytes: int | None = None  # the server's ``input_bytes``, from a 200 answer
    server_timings_ms: dict[str, float] | None = None
    resolution: int | None = None  # DRNet models: the resolution the predictor chose
    gflops: float | None = None  # DRNet models: the compute spent on this image
    lag_s: float = 0.0  # how late the request left relative to when it was due (client saturation)

    @property
    def ok(self) -> bool:
        return self.status == 200


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between order statistics.

    Same definition as ``numpy.percentile(values, q)`` (method "linear"); NaN for no values.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def errors_by_status(samples: Iterable[Sample]) -> dict[str, int]:
    """Counts of every non-200 outcome, keyed by status code or failure tag, sorted by key."""
    counts = Counter(str(s.status) for s in samples if not s.ok)
    return dict(sorted(counts.items()))


def summarize(samples: Sequence[Sample], wall_s: float) -> dict[str, float | int | dict[str, int]]:
    """Figures of one step. Latency percentiles are over successful requests only.

    Fast rejections (503 when the queue is full) would otherwise pull the percentiles down exactly when
    the server is overloaded; they are counted in ``errors`` and ``error_rate`` instead.
    """
    ok = [s for s in samples if s.ok]
    lat_ms = [s.latency_s * 1000 for s in ok]
    n = len(samples)
    row: dict[str, float | int | dict[str, int]] = {
        "requests": n,
        "ok": len(ok),
        "errors": n - len(ok),
        "error_rate": (n - len(ok)) / n if n else 0.0,
        "wall_s": wall_s,
        "throughput_rps": len(ok) / wall_s if wall_s > 0 else 0.0,
        "mean_ms": _mean(lat_ms),
    }
    for q in PERCENTILES:
        row[f"p{q}_ms"] = percentile(lat_ms, q)
    row["max_ms"] = max(lat_ms) if lat_ms else math.nan
    row["bytes_sent"] = sum(s.bytes_sent for s in samples)
    row["mean_input_bytes"] = _mean([s.input_bytes for s in ok if s.input_bytes is not None])
    for key in ("queue", "infer"):
        row[f"server_{key}_ms_mean"] = _mean(
            [s.server_timings_ms[key] for s in ok if s.server_timings_ms and key in s.server_timings_ms]
        )
    row["mean_gflops"] = _mean([s.gflops for s in ok if s.gflops is not None])
    chosen = Counter(str(s.resolution) for s in ok if s.resolution is not None)
    row["resolutions"] = dict(sorted(chosen.items(), key=lambda kv: -int(kv[0])))
    # A large lag means the client, not the server, could not keep up with the schedule.
    row["max_send_lag_ms"] = max((s.lag_s * 1000 for s in samples), default=0.0)
    row["errors_by_status"] = errors_by_status(samples)
    return row
