"""Frequency-channel selections, row-major indices ``8*v+u``: DCTNet's static ones (Xu et al., CVPR 2020)
and one learned here by DCTNet's method (a gate over all 192 channels, frozen to its top 48).

``v`` is the vertical and ``u`` the horizontal frequency of the 8x8 DCT; index 0 is DC.
"""

from dataclasses import dataclass


def _ranges(*spans: tuple[int, int]) -> tuple[int, ...]:
    out: list[int] = []
    for lo, hi in spans:
        out.extend(range(lo, hi + 1))
    return tuple(out)


@dataclass(frozen=True)
class ChannelPreset:
    """Channels kept per component: luma (Y) and the two chroma planes (Cb, Cr share one list)."""

    name: str
    luma: tuple[int, ...]
    chroma: tuple[int, ...]

    @property
    def per_component(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        return (self.luma, self.chroma, self.chroma)

    @property
    def num_channels(self) -> int:
        return len(self.luma) + 2 * len(self.chroma)


PRESETS: dict[str, ChannelPreset] = {
    p.name: p
    for p in (
        ChannelPreset("dct24", _ranges((0, 3), (8, 11), (16, 19), (24, 27)), (0, 1, 8, 9)),
        ChannelPreset("dct32", _ranges((0, 4), (8, 12), (16, 20), (24, 27), (32, 34)), (0, 1, 2, 8, 9)),
        ChannelPreset(
            "dct48",
            _ranges((0, 5), (8, 13), (16, 21), (24, 29), (32, 35), (40, 43)),
            (0, 1, 2, 8, 9, 10, 16, 17),
        ),
        ChannelPreset(
            "dct64",
            _ranges((0, 6), (8, 14), (16, 21), (24, 29), (32, 37), (40, 45), (48, 53)),
            (0, 1, 2, 8, 9, 10, 16, 17, 24, 25),
        ),
        ChannelPreset("dct192", tuple(range(64)), tuple(range(64))),
        # Learned here, not from the paper: the top 48 of a Gumbel gate over all 192 channels, trained with a
        # budget of 25% on for 6 epochs (models.channel_gate; scripts/train_models.sh step 2; MODEL_CARD.md).
        ChannelPreset(
            "learned48",
            (0, 1, 2, 5, 8, 16, 19, 24, 25, 27, 28, 35, 36, 42, 46, 48, 49, 50, 51, 56, 57, 58),
            (0, 1, 2, 8, 9, 15, 24, 25, 28, 33, 34, 38, 41),
        ),
    )
}


def get_preset(name: str) -> ChannelPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown channel preset {name!r}; known: {sorted(PRESETS)}") from None
