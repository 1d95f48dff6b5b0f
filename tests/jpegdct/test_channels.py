"""jpegdct.channels: DCTNet's static channel presets, exactly as the issue lists them, and the learned one."""

import pytest

from jpegdct import PRESETS, ChannelPreset, get_preset
from jpegdct.blocks import transposed_channels


def _span(lo: int, hi: int) -> list[int]:
    return list(range(lo, hi + 1))


# Typed out independently of jpegdct.channels (from the issue text), natural-order indices 8*v+u.
EXPECTED = {
    "dct24": (_span(0, 3) + _span(8, 11) + _span(16, 19) + _span(24, 27), [0, 1, 8, 9]),
    "dct32": (_span(0, 4) + _span(8, 12) + _span(16, 20) + _span(24, 27) + _span(32, 34), [0, 1, 2, 8, 9]),
    "dct48": (
        _span(0, 5) + _span(8, 13) + _span(16, 21) + _span(24, 29) + _span(32, 35) + _span(40, 43),
        [0, 1, 2, 8, 9, 10, 16, 17],
    ),
    "dct64": (
        _span(0, 6) + _span(8, 14) + _span(16, 21) + _span(24, 29) + _span(32, 37) + _span(40, 45) + _span(48, 53),
        [0, 1, 2, 8, 9, 10, 16, 17, 24, 25],
    ),
    "dct192": (list(range(64)), list(range(64))),
    # The trained gate's choice (checkpoints/learned48.channels.json; tests/models/test_evaluate.py checks
    # that the preset equals that file).
    "learned48": (
        [0, 1, 2, 5, 8, 16, 19, 24, 25, 27, 28, 35, 36, 42, 46, 48, 49, 50, 51, 56, 57, 58],
        [0, 1, 2, 8, 9, 15, 24, 25, 28, 33, 34, 38, 41],
    ),
}

# Whether each channel list is closed under (v, u) -> (u, v), i.e. whether a transposing orientation
# (EXIF 5-8) can be applied to a read of just these channels. Where it is not, the rotating code must read
# the closure (see test_transpose_closure) and select afterwards.
CLOSED = {
    "dct24": (True, True),
    "dct32": (True, False),  # chroma has (0, 2) but not (2, 0)
    "dct48": (True, True),
    "dct64": (False, False),  # luma has (6, 0..5) but not (0..5, 6) beyond u = 1; chroma (3, 0) but not (0, 3)
    "dct192": (True, True),
    "learned48": (False, False),  # a learned set: (0, 5) without (5, 0), for one
}


def test_preset_names() -> None:
    assert sorted(PRESETS) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_exact_lists(name: str) -> None:
    preset = get_preset(name)
    luma, chroma = EXPECTED[name]
    assert isinstance(preset, ChannelPreset) and preset.name == name
    assert list(preset.luma) == luma
    assert list(preset.chroma) == chroma
    assert preset.per_component == (preset.luma, preset.chroma, preset.chroma)
    assert preset.num_channels == int(name.lstrip("abcdefghijklmnopqrstuvwxyz")) == len(luma) + 2 * len(chroma)
    for chans in (preset.luma, preset.chroma):
        assert list(chans) == sorted(set(chans)) and all(0 <= c < 64 for c in chans)
        assert chans[0] == 0  # DC always kept


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_transpose_closure(name: str) -> None:
    preset = get_preset(name)
    for chans, closed in zip((preset.luma, preset.chroma), CLOSED[name], strict=True):
        assert (set(transposed_channels(chans)) == set(chans)) is closed
        closure = sorted(set(chans) | set(transposed_channels(chans)))
        assert set(transposed_channels(closure)) == set(closure)


def test_presets_nest() -> None:
    # Each larger selection keeps every channel of the smaller ones (DCTNet's ordering by energy).
    names = ["dct24", "dct32", "dct48", "dct64", "dct192"]
    for small, big in zip(names[:-1], names[1:], strict=True):
        assert set(PRESETS[small].luma) <= set(PRESETS[big].luma)
        assert set(PRESETS[small].chroma) <= set(PRESETS[big].chroma)


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown channel preset 'dct25'.*dct24"):
        get_preset("dct25")


def test_presets_are_immutable() -> None:
    with pytest.raises(AttributeError):
        PRESETS["dct24"].luma = (0,)  # type: ignore[misc]
