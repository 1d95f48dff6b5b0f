"""Resampling by any factor, down or up, in the DCT domain: per-axis linear maps on block coefficients.

Along one axis a plane of 8-sample blocks becomes, with no pixel decode:

1. each input block's lowest ``k`` coefficients -> ``k`` samples (a ``k``-point inverse DCT scaled by
   ``sqrt(k/8)``): the block at ``k/8`` of its size, as libjpeg's scaled decode makes it (``k`` = 8 is the
   exact full-size inverse DCT; smaller ``k`` reads only the coefficients the reduction needs);
2. those samples -> the output samples: an area (box) average when shrinking, linear interpolation when
   growing, borders repeated;
3. the output samples -> 8-sample output blocks (forward DCT).

The product is one banded matrix per axis (``banded_axis``: an output block depends on the few input blocks
under it), so a 2D resize is two banded products on the coefficient planes (``resample_plane``; the
products run in C, ``jpegdct/_resample.c``: per request, numpy's small batched matmuls and the transposes
between them cost more than the entropy decode). Only the wanted output frequencies are computed.
"""

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from jpegdct._jpegdct import ffi, lib
from jpegdct.blocks import dct_k, dct_matrix


def reduced_size(scale: float) -> int:
    """Coefficients per block axis to read for an output of ``scale`` samples per input sample: the
    smallest ``k`` whose ``k/8`` scaled block still has at least as many samples as the output needs."""
    return min(8, max(1, math.ceil(8 * scale - 1e-9)))


def resample_weights(n_in: int, n_out: int, scale: float, start: float) -> np.ndarray:
    """``[n_out, n_in]``: output sample ``j`` covers ``[start + j, start + j + 1]`` in output units, where
    one input sample is ``scale`` output units. Area weights when ``scale <= 1``, linear interpolation
    between sample centres when larger; positions past either end take the border sample."""
    return _band_weights(n_in, scale, start, np.arange(n_out)[:, None], np.arange(n_in)[None, :])


def _sample_bounds(n_in: int, n_out: int, scale: float, start: float) -> tuple[np.ndarray, np.ndarray]:
    """First and last input sample each output sample of ``resample_weights`` reads (clamped to the axis)."""
    j = np.arange(n_out)
    if scale <= 1:
        lo, hi = np.floor((start + j) / scale), np.ceil((start + j + 1) / scale) - 1
    else:
        lo = np.floor(np.clip((start + j + 0.5) / scale - 0.5, 0, n_in - 1))
        hi = lo + 1
    return np.clip(lo, 0, n_in - 1).astype(int), np.clip(hi, 0, n_in - 1).astype(int)


def _band_weights(n_in: int, scale: float, start: float, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The weights of ``resample_weights`` at output samples ``rows`` and input samples ``cols`` (index arrays
    broadcast together): the whole matrix there, only a band of it for ``banded_axis``."""
    if scale <= 1:
        lo, hi = (start + rows) / scale, (start + rows + 1) / scale
        w = np.clip(np.minimum(hi, cols + 1) - np.maximum(lo, cols), 0, None)
        w += (cols == 0) * np.clip(np.minimum(hi, 0) - lo, 0, None)  # the part before the first sample
        w += (cols == n_in - 1) * np.clip(hi - np.maximum(lo, n_in), 0, None)  # and after the last
        return w / (hi - lo)
    pos = np.clip((start + rows + 0.5) / scale - 0.5, 0, n_in - 1)
    left = np.floor(pos)
    right = np.minimum(left + 1, n_in - 1)
    frac = pos - left
    return (cols == left) * (1 - frac) + (cols == right) * frac


@lru_cache(maxsize=256)
def banded_axis(
    n_in_blocks: int, k: int, scale: float, start: float, n_out_blocks: int
) -> tuple[np.ndarray, np.ndarray]:
    """The per-axis map as a band: ``(first, weights)``, where output block ``b`` reads input coefficients
    ``k*first[b] ... k*first[b] + weights.shape[2] - 1`` (block ``a``, frequency ``j < k`` at ``k*a + j``)
    with ``weights[b]`` (``[8, k*span]``): output coefficient ``f`` of block ``b`` is ``weights[b, f] @ x``.

    The map is ``forward DCT . resample_weights . k-point inverse DCT`` restricted to the few input blocks
    under each output block, built directly from those blocks (photo sizes vary, so this runs per request
    and must not cost a dense ``[8 * n_out, k * n_in]`` product). ``scale``: output samples per
    *full-size* input sample; ``start``: where output sample 0 begins, in output samples from the start of
    the input axis (negative: before it, the border repeats)."""
    n_in, s = k * n_in_blocks, scale * 8 / k
    lo, hi = _sample_bounds(n_in, 8 * n_out_blocks, s, start)
    a0, a1 = (lo // k).reshape(n_out_blocks, 8).min(1), (hi // k).reshape(n_out_blocks, 8).max(1)
    span = int((a1 - a0).max()) + 1
    first = np.minimum(a0, n_in_blocks - span)  # every band inside the axis (span <= n_in_blocks)
    rows = np.arange(8 * n_out_blocks).reshape(n_out_blocks, 8, 1)
    cols = (k * first)[:, None, None] + np.arange(k * span)
    r = _band_weights(n_in, s, start, rows, cols).reshape(n_out_blocks, 8, span, k)
    to_samples = np.sqrt(k / 8) * dct_k(k)  # [j, t]: coefficient j -> sample t of a k/8-scaled block
    weights = (dct_matrix() @ (r @ to_samples.T).reshape(n_out_blocks, 8, k * span)).astype(np.float32)
    for a in (first, weights):
        a.setflags(write=False)
    return first, weights


@lru_cache(maxsize=128)
def low_channels(k_v: int, k_h: int) -> tuple[int, ...]:
    """Natural-order channels ``8*v+u`` with ``v < k_v`` and ``u < k_h``: what a ``k_v x k_h`` read needs."""
    return tuple(8 * v + u for v in range(k_v) for u in range(k_h))


def resample_plane(
    coefficients: np.ndarray,
    k: tuple[int, int],
    scale: tuple[float, float],
    start: tuple[float, float],
    grid: tuple[int, int],
    wanted: Sequence[int],
    steps: np.ndarray | None = None,
) -> np.ndarray:
    """Planes ``[..., k_v*k_h, H, W]`` (channels ``low_channels(*k)`` in that order; any leading dimensions
    are planes of one geometry, such as Cb and Cr, resampled together) -> the ``wanted`` channels
    ``[..., len(wanted), *grid]`` (float32) of each resampled plane's ``grid`` of blocks.

    ``steps`` (``[..., k_v*k_h]``, the quantization steps) dequantizes int16 planes on the way; without it the
    planes are taken as dequantized. ``scale`` and ``start`` per axis (vertical, horizontal), as in
    ``banded_axis``."""
    lead, (kv, kh) = coefficients.shape[:-3], k
    planes = list(coefficients.reshape(-1, kv * kh, *coefficients.shape[-2:]))
    flat_steps = None if steps is None else steps.reshape(-1, kv * kh)
    out = resample_planes(planes, k, scale, start, grid, wanted, flat_steps)
    return out.reshape(*lead, len(wanted), *grid)


def resample_planes(
    planes: Sequence[np.ndarray],
    k: tuple[int, int],
    scale: tuple[float, float],
    start: tuple[float, float],
    grid: tuple[int, int],
    wanted: Sequence[int],
    steps: np.ndarray | None = None,
    as_int16: bool = False,
) -> np.ndarray:
    """``resample_plane`` for separate planes of one geometry (each ``[k_v*k_h, H, W]``, such as a photo's Cb
    and Cr as read): ``[len(planes), len(wanted), *grid]`` float32, with no stacking copy.

    With ``steps`` (``[len(planes), k_v*k_h]``) the planes are int16 as read and are dequantized inside the
    kernel (each tap scaled as it is loaded); without, float32 and already dequantized. The planes may be
    views (a crop of the reader's arrays is not copied); only the block columns the horizontal band reads
    are touched (``jpegdct/_resample.c``). ``as_int16``: the result rounded half to even and saturated to int16
    inside the kernel (what a model input holds), instead of float32."""
    (kv, kh), (h, w) = k, planes[0].shape[-2:]
    kernel = _kernel(h, w, kv, kh, float(scale[0]), float(scale[1]), float(start[0]), float(start[1]), *grid,
                     tuple(wanted))  # fmt: skip
    planes = _common_strides([np.asarray(x, dtype=np.float32 if steps is None else np.int16) for x in planes])
    if any(x.shape != (kv * kh, h, w) for x in planes):
        raise ValueError(f"planes must all be [{kv * kh}, {h}, {w}]")
    if steps is not None:
        steps = np.ascontiguousarray(steps, dtype=np.float32)
        if steps.shape != (len(planes), kv * kh):
            raise ValueError(f"steps must be [{len(planes)}, {kv * kh}]")
    return kernel.run(planes, steps, as_int16)


def _common_strides(planes: list[np.ndarray]) -> list[np.ndarray]:
    """The planes as they are when their rows are contiguous and all share one layout (a crop of what the
    reader returned, such as trimmed edge MCUs, is not copied), else contiguous copies."""
    first = planes[0]
    rows_contiguous = first.strides[2] == first.itemsize and min(first.strides) > 0
    if rows_contiguous and all(x.strides == first.strides for x in planes):
        return planes
    return [np.ascontiguousarray(x) for x in planes]


@lru_cache(maxsize=256)
def _kernel_band(
    n_in_blocks: int, k: int, scale: float, start: float, n_out_blocks: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """``banded_axis`` as the kernel takes it, once per geometry (photo sizes repeat: per request this is a
    lookup): ``first`` as int32, the weights, per output block its non-zero taps (first, count; int32
    ``[n_out, 2]``), and the first and one-past-last input block any band reads."""
    first, weights = banded_axis(n_in_blocks, k, scale, start, n_out_blocks)
    nonzero = np.abs(weights).max(axis=1) > 0  # [n_out, taps]
    t0 = nonzero.argmax(axis=1)
    count = np.where(nonzero.any(axis=1), weights.shape[2] - nonzero[:, ::-1].argmax(axis=1) - t0, 0)
    taps = np.ascontiguousarray(np.stack([t0, count], axis=1), dtype=np.int32)
    first32 = np.ascontiguousarray(first, dtype=np.int32)
    for a in (first32, taps):
        a.setflags(write=False)
    return first32, weights, taps, int(first.min()), int(first.max()) + weights.shape[2] // k


def band_extent(n_in_blocks: int, k: int, scale: float, start: float, n_out_blocks: int) -> tuple[int, int]:
    """The first and one-past-last input block that ``banded_axis``'s band reads: what a read must copy."""
    *_, lo, end = _kernel_band(n_in_blocks, k, scale, start, n_out_blocks)
    return lo, end


class _Kernel:
    """``jpegdct/_resample.c``'s two banded products for one geometry (plane size, read size, scale, start,
    grid, wanted channels), with every argument that does not depend on the photo's coefficients made once:
    the bands' arrays are cached and read-only, and their cffi pointers with them (rebuilt per request, they
    cost ~10% of a 500 px photo's resampling). ``run`` is thread-safe: each call gets its own scratch and output."""

    def __init__(self, h: int, w: int, k: tuple[int, int], vertical: tuple, horizontal: tuple, wanted: tuple) -> None:
        (fv, wv, tv, v_lo, v_end), (fh, wh, th, c0, c_end) = vertical, horizontal
        # The kernel trusts its indices: every band inside the planes, every channel a distinct natural-order index.
        if v_lo < 0 or c0 < 0 or v_end > h or c_end > w:
            raise ValueError("a band reads outside the planes")
        if not all(0 <= c < 64 for c in wanted) or len(set(wanted)) != len(wanted):
            raise ValueError("wanted channels must be distinct, in 0..63")
        idx = np.asarray(wanted, dtype=np.int32)
        fh32 = fh - np.int32(c0)
        self.k, self.nc, self.grid, self.nw = k, c_end - c0, (len(fv), len(fh)), len(wanted)
        self.tmp_size = len({c // 8 for c in wanted}) * k[1] * self.nc * len(fv)
        p = ffi.from_buffer  # each pointer keeps the array it points into alive
        self._vertical = (c0, self.nc, len(fv), p("int *", fv), wv.shape[2], p("float *", wv), p("int *", tv))
        self._horizontal = (len(fh), p("int *", fh32), wh.shape[2], p("float *", wh), p("int *", th))
        self._wanted = (len(idx), p("int *", idx))

    def run(self, planes: list[np.ndarray], steps: np.ndarray | None, as_int16: bool = False) -> np.ndarray:
        """Planes ``[kv*kh, H, W]`` (one shared layout) -> ``[P, len(wanted), gh, gw]`` float32, or int16
        (rounded half to even and saturated in the kernel) with ``as_int16``."""
        (kv, kh), item = self.k, planes[0].itemsize
        chan_stride, row_stride = planes[0].strides[0] // item, planes[0].strides[1] // item
        shape = (len(planes), self.nw, *self.grid)
        out = np.empty(shape, dtype=np.float32)
        out16 = np.empty(shape, dtype=np.int16) if as_int16 else None
        tmp = np.empty(self.tmp_size, dtype=np.float32)
        # The planes may be views, which from_buffer refuses: their addresses go as they are.
        pointers = ffi.new("void *[]", [ffi.cast("void *", x.ctypes.data) for x in planes])
        step_ptr = ffi.NULL if steps is None else ffi.from_buffer("float *", steps)
        rc = lib.fs_resample(
            pointers, int(steps is not None), step_ptr, len(planes), kv, kh, chan_stride, row_stride,
            *self._vertical, *self._horizontal, *self._wanted, ffi.from_buffer("float *", tmp),
            ffi.from_buffer("float *", out), ffi.NULL if out16 is None else ffi.from_buffer("short *", out16),
        )  # fmt: skip
        if rc != 0:
            raise MemoryError("resampling scratch could not be allocated")
        return out if out16 is None else out16


@lru_cache(maxsize=256)
def _kernel(
    h: int, w: int, kv: int, kh: int, sv: float, sh: float, tv: float, th: float, gh: int, gw: int, wanted: tuple
) -> _Kernel:
    """The prepared kernel for planes ``[kv*kh, h, w]`` at per-axis scale ``(sv, sh)`` and start ``(tv, th)``
    onto a ``gh x gw`` grid of the ``wanted`` channels (photo sizes repeat: per request this is a lookup)."""
    return _Kernel(h, w, (kv, kh), _kernel_band(h, kv, sv, tv, gh), _kernel_band(w, kh, sh, th, gw), wanted)
