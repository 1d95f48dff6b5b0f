"""Exact block-grid operations on DCT coefficients, pure numpy.

Arrays are ``[..., channels, blocks_h, blocks_w]`` with a parallel tuple of natural-order channel indices
``8*v+u``. A horizontal flip mirrors the block order and negates odd horizontal frequencies (odd ``u``);
a transpose swaps the block axes and the coefficient matrix (``(v, u) -> (u, v)``). Every EXIF orientation
is a composition of the two (plus the vertical flip), so all are lossless, as jpegtran's are.
"""

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

import numpy as np

from jpegdct.orientation import apply_upright, swaps_axes
from jpegdct.reader import JpegCoefficients

Channels = Sequence[int]


def _signs(channels: Channels, axis_freq: int) -> np.ndarray:
    """+1/-1 per channel: -1 where the frequency along the given axis (0: v, 1: u) is odd."""
    freqs = [(c // 8, c % 8)[axis_freq] for c in channels]
    return np.array([-1 if f % 2 else 1 for f in freqs], dtype=np.int16)


def hflip(coefs: np.ndarray, channels: Channels) -> np.ndarray:
    """Mirror left-right."""
    return coefs[..., ::-1] * _signs(channels, 1)[:, None, None]


def vflip(coefs: np.ndarray, channels: Channels) -> np.ndarray:
    """Mirror top-bottom."""
    return coefs[..., ::-1, :] * _signs(channels, 0)[:, None, None]


def transposed_channels(channels: Channels) -> tuple[int, ...]:
    return tuple(8 * (c % 8) + c // 8 for c in channels)


def transpose(coefs: np.ndarray, channels: Channels) -> np.ndarray:
    """Mirror across the main diagonal. The channel set must be closed under (v, u) -> (u, v)."""
    position = {c: i for i, c in enumerate(channels)}
    try:
        order = [position[t] for t in transposed_channels(channels)]
    except KeyError:
        raise ValueError("channel set is not closed under transposition; read all channels to rotate") from None
    return np.swapaxes(coefs[..., order, :, :], -1, -2)


def orient_array(coefs: np.ndarray, channels: Channels, orientation: int) -> np.ndarray:
    """Apply the transform that displays an image with this EXIF orientation upright."""
    ops = {"h": lambda a: hflip(a, channels), "v": lambda a: vflip(a, channels), "t": lambda a: transpose(a, channels)}
    return np.ascontiguousarray(apply_upright(coefs, orientation, ops))


def trim_to_mcus(jc: JpegCoefficients) -> JpegCoefficients:
    """Drop partial MCUs at the right and bottom edges (as ``jpegtran -trim``).

    Partial edge blocks hold encoder padding; trimming keeps luma and chroma grids aligned and lets flips
    and rotations stay exact.
    """
    h = jc.header
    hmax, vmax = max(h.h_samp), max(h.v_samp)
    mcus_w, mcus_h = h.width // (8 * hmax), h.height // (8 * vmax)
    if (h.width, h.height) == (mcus_w * 8 * hmax, mcus_h * 8 * vmax):
        return jc  # whole MCUs already: nothing to drop
    comps = tuple(
        replace(c, coefficients=c.coefficients[:, : mcus_h * c.v_samp, : mcus_w * c.h_samp]) for c in jc.components
    )
    header = replace(h, width=mcus_w * 8 * hmax, height=mcus_h * 8 * vmax)
    return JpegCoefficients(header, comps)


_TRANSPOSED_ALL = list(transposed_channels(range(64)))


def orient(jc: JpegCoefficients) -> JpegCoefficients:
    """Bring an image upright according to its EXIF orientation (trims partial MCUs first)."""
    if jc.header.orientation == 1:
        return jc
    jc = trim_to_mcus(jc)
    o = jc.header.orientation
    swap = swaps_axes(o)
    comps = tuple(
        replace(
            c,
            coefficients=orient_array(c.coefficients, c.channels, o),
            # A transposed block holds coefficient (u, v) at (v, u): its quantization step moves with it.
            quant_table=c.quant_table[_TRANSPOSED_ALL] if swap else c.quant_table,
            h_samp=c.v_samp if swap else c.h_samp,
            v_samp=c.h_samp if swap else c.v_samp,
        )
        for c in jc.components
    )
    h = jc.header
    header = replace(
        h,
        width=h.height if swap else h.width,
        height=h.width if swap else h.height,
        h_samp=h.v_samp if swap else h.h_samp,
        v_samp=h.h_samp if swap else h.v_samp,
        orientation=1,
    )
    return JpegCoefficients(header, comps)


def crop_or_pad(coefs: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Window ``[top:top+height, left:left+width]`` of the block grid; outside the grid is zero.

    A zero block is flat mid-grey in luma and neutral in chroma.
    """
    out = np.zeros((*coefs.shape[:-2], height, width), dtype=coefs.dtype)
    src_h, src_w = coefs.shape[-2:]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, src_h), min(left + width, src_w)
    if y1 > y0 and x1 > x0:
        out[..., y0 - top : y1 - top, x0 - left : x1 - left] = coefs[..., y0:y1, x0:x1]
    return out


def center_offsets(src_h: int, src_w: int, height: int, width: int, align: int = 1) -> tuple[int, int]:
    """Top-left of a centred window, rounded down to a multiple of ``align`` (keeps chroma aligned)."""
    return ((src_h - height) // 2 // align) * align, ((src_w - width) // 2 // align) * align


def dct_k(k: int) -> np.ndarray:
    """Orthonormal ``k``-point DCT-II matrix ``D[f, n]``."""
    n = np.arange(k)
    d = np.sqrt(2 / k) * np.cos((2 * n[None, :] + 1) * n[:, None] * np.pi / (2 * k))
    d[0] /= np.sqrt(2)
    return d


@lru_cache(maxsize=4)
def dct_matrix() -> np.ndarray:
    """Orthonormal 8-point DCT-II matrix D[k, n]; JPEG's 2D coefficients are D X D^T (same scaling)."""
    return dct_k(8)


@lru_cache(maxsize=8)
def _box_matrix(factor: int) -> np.ndarray:
    """A[k, b, j]: 1D DCT coefficient k of the ``factor``x box-downsampled signal of ``factor`` adjacent
    8-sample blocks (b = 0..factor-1, input coefficient j). Orthonormal DCT, so this is exact."""
    d = dct_matrix()
    pool = np.zeros((factor, 8, 8))  # pool[b, m, n]: output sample m from sample n of input block b
    for m in range(8):
        for t in range(factor):
            src = factor * m + t
            pool[src // 8, m, src % 8] = 1.0 / factor
    return np.einsum("km,bmn,jn->kbj", d, pool, d)


def _pad_to_multiple(x: np.ndarray, axis: int, factor: int) -> np.ndarray:
    extra = -x.shape[axis] % factor
    if extra:
        x = np.concatenate([x, np.repeat(np.take(x, [-1], axis=axis), extra, axis=axis)], axis=axis)
    return x


def downsample_blocks(
    dequantized: np.ndarray,
    factor_v: int,
    factor_h: int,
    wanted: Sequence[int] = tuple(range(64)),
    dtype: type = np.float32,
) -> np.ndarray:
    """Exact DCT-domain box downsampling of a full ``[64, H, W]`` dequantized plane by powers of two.

    Equals: inverse DCT, average ``factor_v x factor_h`` pixels, forward DCT; then keeps the ``wanted``
    natural-order channels (only their frequencies are computed). Edge blocks are replicated to fill the
    last group. Returns ``dtype`` ``[len(wanted), ceil(H/fv), ceil(W/fh)]`` (float32 is plenty to round to
    int16 and twice as fast; float64 for exactness checks).
    """
    rows = sorted({c // 8 for c in wanted})
    cols = sorted({c % 8 for c in wanted})
    x = dequantized.astype(dtype).reshape(8, 8, *dequantized.shape[-2:])  # [j_v, j_u, H, W]
    x = _pad_to_multiple(_pad_to_multiple(x, 2, factor_v), 3, factor_h)
    h, w = x.shape[2] // factor_v, x.shape[3] // factor_h
    # Vertical: [k_v] x [(b_v, j_v)] against the stacked block rows, for the needed k_v only.
    av = _box_matrix(factor_v)[rows].reshape(len(rows), 8 * factor_v).astype(dtype)
    pairs = x.reshape(8, 8, h, factor_v, x.shape[3]).transpose(3, 0, 1, 2, 4).reshape(8 * factor_v, -1)
    x = (av @ pairs).reshape(len(rows), 8, h, x.shape[3])  # [k_v, j_u, h, W]
    ah = _box_matrix(factor_h)[cols].reshape(len(cols), 8 * factor_h).astype(dtype)
    pairs = x.reshape(len(rows), 8, h, w, factor_h).transpose(4, 1, 0, 2, 3).reshape(8 * factor_h, -1)
    x = (ah @ pairs).reshape(len(cols), len(rows), h, w)  # [k_u, k_v, h, w]
    return np.stack([x[cols.index(c % 8), rows.index(c // 8)] for c in wanted])


def downsample2x(dequantized: np.ndarray, factor_v: int, factor_h: int) -> np.ndarray:
    """Exact DCT-domain box downsampling of a full ``[64, H, W]`` plane by 1 or 2 per axis (all 64 out).

    Used to bring 4:4:4 / 4:2:2 chroma to the 4:2:0 grid that a model expects.
    """
    return downsample_blocks(dequantized, factor_v, factor_h, dtype=np.float64)


@lru_cache(maxsize=4)
def _repeat_matrix(factor: int) -> np.ndarray:
    """U[b, k, j]: 1D DCT coefficient k of output block b (b = 0..factor-1) when one 8-sample block (input
    coefficient j) is upsampled ``factor``x by repeating each sample (nearest neighbour)."""
    d = dct_matrix()
    rep = np.zeros((factor, 8, 8))  # rep[b, m, n]: output sample m of block b from input sample n
    for b in range(factor):
        for m in range(8):
            rep[b, m, (8 * b + m) // factor] = 1.0
    return np.einsum("km,bmn,jn->bkj", d, rep, d)


def upsample_blocks(dequantized: np.ndarray, factor_v: int, factor_h: int) -> np.ndarray:
    """Exact DCT-domain nearest-neighbour upsampling of a full ``[64, H, W]`` dequantized plane by 1 or 2
    per axis: equals inverse DCT, repeating each pixel, forward DCT. Returns float64
    ``[64, H*factor_v, W*factor_h]``.

    Brings 4:1:1 chroma (a quarter of the luma width) up to the 4:2:0 grid that a model expects.
    """
    x = dequantized.astype(np.float64).reshape(8, 8, *dequantized.shape[-2:])  # [j_v, j_u, H, W]
    if factor_v > 1:
        x = np.einsum("bkj,juhw->kuhbw", _repeat_matrix(factor_v), x)
        x = x.reshape(8, 8, -1, x.shape[-1])
    if factor_h > 1:
        x = np.einsum("bkj,vjhw->vkhwb", _repeat_matrix(factor_h), x)
        x = x.reshape(8, 8, x.shape[2], -1)
    return x.reshape(64, *x.shape[2:])
