"""Bytes -> DCT model inputs, exactly as training, export and serving see them (numpy only, no torch).

Quantized int16 coefficients of the preset's channels, luma on its block grid and chroma on the 4:2:0 grid,
centre-cropped (or padded) to the contract's grid, plus the quantization step of each channel.
"""

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from inputs.contract import InputContract
from inputs.graphs import Feeds
from inputs.support import check_supported, chroma_ratios
from jpegdct import Limits, read_coefficients
from jpegdct.blocks import (
    center_offsets,
    crop_or_pad,
    downsample_blocks,
    orient,
    transposed_channels,
    trim_to_mcus,
    upsample_blocks,
)
from jpegdct.orientation import swaps_axes
from jpegdct.reader import DEFAULT_LIMITS, Component, JpegCoefficients, JpegHeader


@dataclass(frozen=True)
class DctInput:
    luma: np.ndarray  # int16 [Cy, gh, gw]
    chroma: np.ndarray  # int16 [2*Cc, gh/2, gw/2]: Cb channels then Cr channels
    luma_q: np.ndarray  # float32 [Cy]
    chroma_q: np.ndarray  # float32 [2*Cc]

    @property
    def nbytes(self) -> int:
        return self.luma.nbytes + self.chroma.nbytes + self.luma_q.nbytes + self.chroma_q.nbytes

    def feeds(self) -> Feeds:
        """The graph's inputs by name (``inputs.kinds`` lists them)."""
        return {"luma": self.luma, "chroma": self.chroma, "luma_q": self.luma_q, "chroma_q": self.chroma_q}


ALL_CHANNELS = tuple(range(64))


def downscale_factor(short_side: int, source_short: int) -> int:
    """1, 2 or 4: the power-of-two downscale that brings a photo nearest the scale the model trained at.

    A DCT model sees the JPEG's native block grid, so a 1080 px photo would show it a 4x zoom of what it
    learned from 320 px photos; halving in the DCT domain (exact box filter) keeps objects at their scale.
    """
    factor = 1
    while factor < 4 and short_side / (2 * factor) >= source_short / math.sqrt(2):
        factor *= 2
    return factor


def _transpose_closure(channels: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(set(channels) | set(transposed_channels(channels))))


def _is_native_420(header: JpegHeader) -> bool:
    h, v = header.h_samp, header.v_samp
    return len(h) >= 3 and h[0] == 2 * h[1] == 2 * h[2] and v[0] == 2 * v[1] == 2 * v[2]


def dct_read_plan(header: JpegHeader, contract: InputContract) -> tuple[int, tuple[tuple[int, ...], ...]]:
    """(downscale factor, channels to read per component) for this header: the fewest channels that still
    let orientation, chroma resampling and downscaling be exact."""
    preset = contract.channel_preset
    factor = downscale_factor(min(header.width, header.height), contract.source_short)
    luma, chroma = preset.luma, preset.chroma
    if swaps_axes(header.orientation):  # transposing needs each channel's mirror (u, v) -> (v, u)
        luma, chroma = _transpose_closure(luma), _transpose_closure(chroma)
    if factor > 1:
        luma = ALL_CHANNELS
    if factor > 1 or not _is_native_420(header):
        chroma = ALL_CHANNELS
    return factor, (luma, chroma, chroma)


def _select(comp: Component, wanted: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The wanted channels of a component as read (still quantized) and their quantization steps."""
    if comp.channels == wanted:  # the common case: the reader returned exactly these, in this order
        return comp.coefficients, comp.quant_table[list(wanted)].astype(np.float32)
    coefs = comp.coefficients[[comp.channels.index(c) for c in wanted]]
    return coefs, comp.quant_table[list(wanted)].astype(np.float32)


def _resample(comp: Component, fv: Fraction, fh: Fraction, wanted: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Exact DCT-domain resampling per axis (needs all 64 channels read): box downsampling by a power of
    two (``f`` >= 1) or nearest-neighbour upsampling by 2 (``f`` = 1/2, 4:1:1 chroma).

    The result is dequantized, so its steps are 1.
    """
    if (fv, fh) == (1, 1):
        return _select(comp, wanted)
    x = comp.coefficients[[comp.channels.index(c) for c in ALL_CHANNELS]].astype(np.float32)
    x *= comp.quant_table[:, None, None]
    if fv < 1 or fh < 1:
        x = upsample_blocks(x, int(1 / min(fv, 1)), int(1 / min(fh, 1)))
    x = downsample_blocks(x, int(max(fv, 1)), int(max(fh, 1)), wanted)
    out = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    return out, np.ones(len(wanted), dtype=np.float32)


def dct_input(data: bytes, contract: InputContract, limits: Limits = DEFAULT_LIMITS) -> DctInput:
    """JPEG bytes -> the DCT model's inputs (see module docstring)."""
    plan: list[int] = []

    def channels(header: JpegHeader) -> tuple[tuple[int, ...], ...]:
        check_supported(header)
        factor, lists = dct_read_plan(header, contract)
        plan.append(factor)
        return lists

    jc = read_coefficients(data, channels, limits)
    return dct_input_from_coefficients(jc, contract, plan[0])


def dct_input_from_coefficients(jc: JpegCoefficients, contract: InputContract, factor: int = 1) -> DctInput:
    """Coefficients read per ``dct_read_plan`` -> model inputs: upright, centre-cropped (or zero-padded)
    to the contract's grid, downscaled by ``factor``, chroma on the 4:2:0 grid.

    The centre window is cut before resampling, so a large photo costs no more than its window.
    """
    preset = contract.channel_preset
    jc = orient(trim_to_mcus(jc))
    luma = jc.components[0]
    gh, gw = contract.grid
    sh, sw = gh * factor, gw * factor  # the window in source luma blocks
    # Aligned so that chroma windows start on whole blocks and 2x2 groups pair the same blocks for any layout.
    ratios = [r for rs in chroma_ratios(jc.header) for r in rs]
    top, left = center_offsets(*luma.coefficients.shape[-2:], sh, sw, align=max([2 * factor, *ratios]))

    def window(comp: Component) -> Component:
        rv, rh = comp.v_samp / luma.v_samp, comp.h_samp / luma.h_samp
        coefs = crop_or_pad(comp.coefficients, int(top * rv), int(left * rh), int(sh * rv), int(sw * rh))
        return replace(comp, coefficients=coefs)

    y, yq = _resample(window(luma), factor, factor, preset.luma)
    nc = len(preset.chroma)
    if jc.has_chroma:
        planes, steps = [], []
        for comp in jc.components[1:3]:
            # window grid / target grid (half the downscaled luma grid), per axis: 1/2, 1, 2, 4 or 8
            fv = Fraction(2 * factor * comp.v_samp, luma.v_samp)
            fh = Fraction(2 * factor * comp.h_samp, luma.h_samp)
            plane, step = _resample(window(comp), fv, fh, preset.chroma)
            planes.append(plane)
            steps.append(step)
        c, cq = np.concatenate(planes), np.concatenate(steps)
    else:  # grayscale: neutral chroma is exactly zero in the DCT domain
        ch, cw = contract.chroma_grid
        c = np.zeros((2 * nc, ch, cw), dtype=np.int16)
        cq = np.ones(2 * nc, dtype=np.float32)
    return DctInput(np.ascontiguousarray(y), np.ascontiguousarray(c), yq, cq)
