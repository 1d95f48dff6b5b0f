"""Bytes -> DCT model inputs, exactly as training, export and serving see them (numpy only, no torch).

Quantized int16 coefficients of the preset's channels, luma on its block grid and chroma on the 4:2:0 grid,
centre-cropped to the contract's grid, plus the quantization step of each channel.

Every photo reaches the model at the scale it trained at: short side -> the contract's ``source_short``.
- at exactly that size (the training photos): the JPEG's own coefficients, untouched;
- at exactly 2x or 4x: the exact DCT-domain box filter (all 64 coefficients read);
- at any other size, down or up: ``jpegdct.resample`` (per-axis linear maps on the coefficients), reading
  only the lowest ``k x k`` coefficients per block that the reduction needs, as libjpeg's scaled decode does,
  and (for a photo stored upright) only the blocks under the centre crop's bands (``ReadPlan.windows``).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

import numpy as np

from inputs.contract import InputContract
from inputs.graphs import Feeds
from inputs.support import check_supported, chroma_ratios
from jpegdct import BlockWindow, Limits, ReadRequest, read_coefficients
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
from jpegdct.resample import band_extent, low_channels, reduced_size, resample_planes


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


EXACT_FACTORS = (1, 2, 4)


@dataclass(frozen=True)
class ReadPlan:
    """How one photo becomes model inputs: its ``scale`` (model samples per photo sample, short side to
    ``source_short``), the exact box ``factor`` when the scale is 1, 1/2 or 1/4 (else None: any-factor
    resampling), the channels to read per component and, for any-factor resampling of an upright photo, the
    block window per component that its bands read (the rest is never copied)."""

    scale: float
    factor: int | None
    channels: tuple[tuple[int, ...], ...]
    windows: tuple[BlockWindow | None, ...] = ()

    @property
    def request(self) -> ReadRequest:
        return ReadRequest(self.channels, self.windows)


def exact_factor(short_side: int, source_short: int) -> int | None:
    """1, 2 or 4 when the photo is exactly that multiple of the training scale, else None."""
    for f in EXACT_FACTORS:
        if short_side == f * source_short:
            return f
    return None


def _transpose_closure(channels: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(set(channels) | set(transposed_channels(channels))))


def _is_native_420(header: JpegHeader) -> bool:
    h, v = header.h_samp, header.v_samp
    return len(h) >= 3 and h[0] == 2 * h[1] == 2 * h[2] and v[0] == 2 * v[1] == 2 * v[2]


def chroma_scale(scale: float, ratio: Fraction) -> float:
    """Model chroma samples (the 4:2:0 grid: half the luma's) per sample of a chroma plane that has
    ``ratio`` of the luma's samples along an axis."""
    return scale / 2 / float(ratio)


@lru_cache(maxsize=1024)
def dct_read_plan(header: JpegHeader, contract: InputContract) -> ReadPlan:
    """The plan for this header: the fewest channels that still let orientation, chroma resampling and
    rescaling be exact (or, for any-factor rescaling, as good as a scaled decode). Photo sizes and layouts
    repeat, so per request this is usually a lookup."""
    short = min(header.width, header.height)
    scale = contract.source_short / short
    factor = exact_factor(short, contract.source_short)
    if factor is None:
        # Lowest k x k per block: closed under transposition, so every orientation stays exact.
        ky = reduced_size(scale)
        v, h = header.v_samp, header.h_samp
        ratios = [Fraction(c, max(v)) for c in v[1:]] + [Fraction(c, max(h)) for c in h[1:]]
        k = reduced_size(max((chroma_scale(scale, r) for r in ratios), default=scale))
        channels = (low_channels(ky, ky), low_channels(k, k), low_channels(k, k))
        return ReadPlan(scale, None, channels, _band_windows(header, contract, (ky, k, k)))
    preset = contract.channel_preset
    luma, chroma = preset.luma, preset.chroma
    if swaps_axes(header.orientation):  # transposing needs each channel's mirror (u, v) -> (v, u)
        luma, chroma = _transpose_closure(luma), _transpose_closure(chroma)
    if factor > 1:
        luma = ALL_CHANNELS
    if factor > 1 or not _is_native_420(header):
        chroma = ALL_CHANNELS
    return ReadPlan(scale, factor, (luma, chroma, chroma))


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
    plans: list[ReadPlan] = []

    def request(header: JpegHeader) -> ReadRequest:
        check_supported(header)
        plans.append(dct_read_plan(header, contract))
        return plans[0].request

    jc = read_coefficients(data, request, limits)
    plan = plans[0]
    if plan.factor is None:
        return resampled_input(jc, contract)
    return dct_input_from_coefficients(jc, contract, plan.factor)


@dataclass(frozen=True)
class _Geometry:
    """Where one component's resampled grid comes from: per axis the scale (output samples per sample of
    the component) and start (``banded_axis``), and the output grid in blocks."""

    scale: tuple[float, float]
    start: tuple[float, float]
    grid: tuple[int, int]


@lru_cache(maxsize=1024)
def _geometries(
    luma_blocks: tuple[int, int], samp: tuple[tuple[int, int], ...], contract: InputContract
) -> tuple[_Geometry, ...]:
    """Per component (luma first; ``samp`` its (v, h) sampling factors) of an upright photo whose luma is
    ``luma_blocks`` (whole MCUs): short side -> ``source_short``, the centre ``grid`` cut from it, chroma
    on the 4:2:0 grid."""
    (gh, gw), (h, w) = contract.grid, luma_blocks
    scale = contract.source_short / (8 * min(h, w))
    # Where the centred window starts, in model luma samples from the photo's top-left corner.
    start = ((8 * h * scale - 8 * gh) / 2, (8 * w * scale - 8 * gw) / 2)
    out = [_Geometry((scale, scale), start, (gh, gw))]
    for v, hs in samp[1:]:
        cs = (chroma_scale(scale, Fraction(v, samp[0][0])), chroma_scale(scale, Fraction(hs, samp[0][1])))
        out.append(_Geometry(cs, (start[0] / 2, start[1] / 2), contract.chroma_grid))
    return tuple(out)


def _band_windows(header: JpegHeader, contract: InputContract, ks: tuple[int, ...]) -> tuple[BlockWindow | None, ...]:
    """The blocks each component's bands read (``ks``: coefficients per block axis read), for a photo stored
    upright; a rotated photo reads everything (its window would have to be mapped back through the turn)."""
    if header.orientation != 1:
        return ()
    hmax, vmax = max(header.h_samp), max(header.v_samp)
    mcus = (header.height // (8 * vmax), header.width // (8 * hmax))
    samp = tuple(zip(header.v_samp, header.h_samp, strict=True))
    dims = [(mcus[0] * v, mcus[1] * h) for v, h in samp]
    windows = []
    for (h, w), g, k in zip(dims, _geometries(dims[0], samp, contract), ks, strict=False):
        top, bottom = band_extent(h, k, g.scale[0], g.start[0], g.grid[0])
        left, right = band_extent(w, k, g.scale[1], g.start[1], g.grid[1])
        windows.append(BlockWindow(top, left, bottom - top, right - left))
    return tuple(windows)


@lru_cache(maxsize=8)
def _low_index(k: int) -> np.ndarray:
    """``low_channels(k, k)`` as an index array (a tuple index is converted on every use)."""
    return np.array(low_channels(k, k), dtype=np.intp)


def _resample_components(comps: Sequence[Component], geometry: _Geometry, wanted: tuple[int, ...]) -> np.ndarray:
    """Components of one geometry, each read as ``low_channels(k, k)`` -> their ``wanted`` channels on
    ``grid``, back to back, rounded to int16 (dequantized: their steps are 1). Resampled in one go."""
    k = math.isqrt(len(comps[0].channels))
    low = low_channels(k, k)
    coefs = [c.coefficients if c.channels == low else c.coefficients[[c.channels.index(i) for i in low]] for c in comps]
    steps = np.array([c.quant_table for c in comps], dtype=np.float32)[:, _low_index(k)]
    g = geometry
    out = resample_planes(coefs, (k, k), g.scale, g.start, g.grid, wanted, steps, as_int16=True)
    return out.reshape(-1, *g.grid)


def resampled_input(jc: JpegCoefficients, contract: InputContract) -> DctInput:
    """Coefficients read per an any-factor ``ReadPlan`` -> model inputs: upright, the short side brought to
    ``source_short``, the centre ``grid`` cut from it; chroma on the 4:2:0 grid.

    The scale is that of the photo as used: whole MCUs (a partial edge MCU holds encoder padding)."""
    preset = contract.channel_preset
    jc = orient(trim_to_mcus(jc))
    luma = jc.components[0]
    samp = tuple((c.v_samp, c.h_samp) for c in jc.components)
    geometries = _geometries(luma.coefficients.shape[-2:], samp, contract)
    y = _resample_components([luma], geometries[0], preset.luma)
    nc = len(preset.chroma)
    ones = np.ones(len(preset.luma), dtype=np.float32)
    if not jc.has_chroma:  # grayscale: neutral chroma is exactly zero in the DCT domain
        ch, cw = contract.chroma_grid
        return DctInput(y, np.zeros((2 * nc, ch, cw), dtype=np.int16), ones, np.ones(2 * nc, dtype=np.float32))
    chroma = jc.components[1:3]
    # Cb and Cr share one geometry in every common layout: then one pair of banded products serves both.
    if len({(c.coefficients.shape, c.v_samp, c.h_samp) for c in chroma}) == 1:
        planes = [_resample_components(chroma, geometries[1], preset.chroma)]
    else:
        planes = [_resample_components([c], g, preset.chroma) for c, g in zip(chroma, geometries[1:3], strict=True)]
    c = planes[0] if len(planes) == 1 else np.concatenate(planes)
    return DctInput(y, c, ones, np.ones(2 * nc, dtype=np.float32))


def dct_input_from_coefficients(jc: JpegCoefficients, contract: InputContract, factor: int = 1) -> DctInput:
    """Coefficients read per an exact-factor ``ReadPlan`` -> model inputs: upright, centre-cropped (or
    zero-padded) to the contract's grid, downscaled by ``factor``, chroma on the 4:2:0 grid.

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
