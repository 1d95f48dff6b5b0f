"""Open-loop send schedules: when each request is due, fixed before the step starts.

Because the timeline never waits for answers, a slow server cannot slow the client down and hide its
own queueing (coordinated omission); latency is measured from these due times.
"""

import random
from collections.abc import Callable
from typing import Literal

Arrival = Literal["constant", "poisson"]


def arrival_offsets(
    rate: float, count: int, duration_s: float | None = None, arrival: Arrival = "constant", seed: int = 0
) -> list[float]:
    """Seconds from the step start at which requests are due: at most ``count``, all before ``duration_s``.

    ``constant`` spaces them exactly 1/rate apart starting at 0; ``poisson`` draws exponential gaps of
    mean 1/rate from a seeded generator, so a run can be repeated.
    """
    if rate <= 0:
        raise ValueError(f"rate must be > 0 requests/s, got {rate}")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if duration_s is not None and duration_s <= 0:
        raise ValueError(f"duration must be > 0 s, got {duration_s}")
    rng = random.Random(seed)
    offsets: list[float] = []
    t = 0.0
    for i in range(count):
        if arrival == "constant":
            t = i / rate
        elif arrival == "poisson":
            t = t + rng.expovariate(rate) if i else 0.0
        else:
            raise ValueError(f"unknown arrival process {arrival!r}; expected 'constant' or 'poisson'")
        if duration_s is not None and t >= duration_s:
            break
        offsets.append(t)
    return offsets


def parse_levels(text: str, kind: Callable[[str], float], name: str) -> list[float]:
    """``"1,4,16"`` -> ``[1, 4, 16]``; every level must be positive."""
    levels: list[float] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = kind(part)
        except ValueError:
            raise ValueError(f"{name}: {part!r} is not a valid {getattr(kind, '__name__', 'number')}") from None
        if value <= 0:
            raise ValueError(f"{name}: levels must be > 0, got {part}")
        levels.append(value)
    if not levels:
        raise ValueError(f"{name}: expected a comma-separated list such as '1,4,16', got {text!r}")
    return levels
