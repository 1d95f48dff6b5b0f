"""McNemar's exact paired test of two classifiers on the same photos (numpy only: the torch-free
benchmarks that measure through the running service use it too)."""

import math
from typing import Any

import numpy as np


def mcnemar(this_correct: np.ndarray, other_correct: np.ndarray) -> dict[str, Any]:
    """Paired comparison of two classifiers on the same images: discordant counts and McNemar's exact
    (binomial) two-sided p-value for "both are equally accurate"."""
    a, b = np.asarray(this_correct, bool), np.asarray(other_correct, bool)
    only_this, only_other = int((a & ~b).sum()), int((~a & b).sum())
    n, k = only_this + only_other, min(only_this, only_other)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return {"only_this_right": only_this, "only_other_right": only_other, "p_value": p}
