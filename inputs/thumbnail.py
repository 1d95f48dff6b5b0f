"""Bytes -> DRNet's predictor input: a 1/8-scale YCbCr thumbnail from the DC coefficients alone (no decode)."""

import numpy as np

from inputs.support import check_supported
from jpegdct import JpegHeader, Limits, read_coefficients
from jpegdct.blocks import center_offsets, crop_or_pad, orient, trim_to_mcus
from jpegdct.reader import DEFAULT_LIMITS, JpegCoefficients

DC_ONLY = ((0,), (0,), (0,))


def dc_thumbnail(jc: JpegCoefficients, size: int) -> np.ndarray:
    """float32 ``[3, size, size]`` YCbCr thumbnail at 1/8 scale from DC coefficients (0..255 range).

    A DC coefficient is 8x the block's mean level-shifted sample, so this is exactly the block means.
    ``jc`` needs channel 0 of each component; chroma is repeated up to the luma grid.
    """
    jc = orient(trim_to_mcus(jc))
    luma = jc.components[0]
    y = luma.coefficients[luma.channels.index(0)] * float(luma.quant_table[0]) / 8 + 128
    planes = [y]
    for comp in jc.components[1:3]:
        c = comp.coefficients[comp.channels.index(0)] * float(comp.quant_table[0]) / 8 + 128
        c = np.repeat(np.repeat(c, luma.v_samp // comp.v_samp, 0), luma.h_samp // comp.h_samp, 1)
        planes.append(c[: y.shape[0], : y.shape[1]])
    while len(planes) < 3:
        planes.append(np.full_like(y, 128.0))
    thumb = np.stack(planes).astype(np.float32)
    top, left = center_offsets(*thumb.shape[-2:], size, size)
    out = np.full((3, size, size), 128.0, dtype=np.float32)
    window = crop_or_pad(thumb - 128.0, top, left, size, size)
    return out + window


def _dc_channels(header: JpegHeader) -> tuple[tuple[int, ...], ...]:
    check_supported(header)
    return DC_ONLY


def thumbnail_input(data: bytes, size: int, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    jc = read_coefficients(data, _dc_channels, limits)
    return dc_thumbnail(jc, size)
