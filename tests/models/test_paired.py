import numpy as np
import pytest

from models.paired import mcnemar


def test_mcnemar_counts_the_discordant_photos_and_gives_the_exact_p_value() -> None:
    this = np.array([1, 1, 1, 1, 0, 1, 0, 0], bool)
    other = np.array([1, 0, 0, 0, 1, 1, 0, 0], bool)
    r = mcnemar(this, other)
    assert (r["only_this_right"], r["only_other_right"]) == (3, 1)
    assert r["p_value"] == pytest.approx(2 * (1 + 4) / 16)  # two-sided binomial(4, 1/2) tail at 1


def test_mcnemar_edge_cases() -> None:
    same = np.array([1, 0, 1], bool)
    assert mcnemar(same, same) == {"only_this_right": 0, "only_other_right": 0, "p_value": 1.0}
    r = mcnemar(np.ones(10, bool), np.zeros(10, bool))
    assert r["p_value"] == pytest.approx(2 / 1024)
    assert mcnemar(np.zeros(10, bool), np.ones(10, bool))["p_value"] == r["p_value"]  # symmetric
