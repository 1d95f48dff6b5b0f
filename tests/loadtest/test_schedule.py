"""Open-loop schedules are fixed in advance, bounded in count and time, and repeatable."""

import statistics

import pytest

from loadtest.schedule import arrival_offsets, parse_levels


def test_constant_schedule_is_evenly_spaced_from_zero() -> None:
    assert arrival_offsets(4.0, 5) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_schedule_is_capped_by_duration() -> None:
    offsets = arrival_offsets(10.0, 1000, duration_s=1.0)
    assert len(offsets) == 10
    assert max(offsets) < 1.0


def test_schedule_is_capped_by_count() -> None:
    assert len(arrival_offsets(1000.0, 7, duration_s=60.0)) == 7


def test_poisson_schedule_is_seeded_increasing_and_has_the_requested_rate() -> None:
    a = arrival_offsets(50.0, 2000, arrival="poisson", seed=1)
    assert a == arrival_offsets(50.0, 2000, arrival="poisson", seed=1)
    assert a != arrival_offsets(50.0, 2000, arrival="poisson", seed=2)
    assert a[0] == 0.0
    assert all(later >= earlier for earlier, later in zip(a, a[1:], strict=False))
    gaps = [later - earlier for earlier, later in zip(a, a[1:], strict=False)]
    assert statistics.fmean(gaps) == pytest.approx(1 / 50, rel=0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0.0, "count": 1}, "rate must be > 0"),
        ({"rate": 1.0, "count": -1}, "count must be >= 0"),
        ({"rate": 1.0, "count": 1, "duration_s": 0.0}, "duration must be > 0"),
        ({"rate": 1.0, "count": 1, "arrival": "bursty"}, "unknown arrival process 'bursty'"),
    ],
)
def test_schedule_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        arrival_offsets(**kwargs)


def test_parse_levels() -> None:
    assert parse_levels("1,4, 16", int, "--concurrency") == [1, 4, 16]
    assert parse_levels("12.5", float, "--rate") == [12.5]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "expected a comma-separated list"), ("1,x", "'x' is not a valid int"), ("4,0", "levels must be > 0")],
)
def test_parse_levels_errors_name_the_option(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"--concurrency: .*{message}"):
        parse_levels(text, int, "--concurrency")
