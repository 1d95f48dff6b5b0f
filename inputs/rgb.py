"""Bytes -> RGB model inputs (RGB baseline and DRNet paths): libjpeg scaled decode (the smallest M/8 that
stays above the target), upright per EXIF, resize of the short side, centre crop. numpy + Pillow, no torch."""

import numpy as np
from PIL import Image

from inputs.support import check_supported
from jpegdct import Limits, decode_rgb, read_header
from jpegdct.orientation import upright_pixels
from jpegdct.reader import DEFAULT_LIMITS


def _scale_for(short: int, target_short: int) -> int:
    """Smallest libjpeg scale M/8 (M <= 8) whose output short side is still >= the target."""
    for m in range(1, 9):
        if -(-short * m // 8) >= target_short:
            return m
    return 8


def rgb_input(data: bytes, size: int, resize_short: int, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """JPEG bytes -> uint8 RGB ``[size, size, 3]``: scaled decode, upright, resize short side, centre crop."""
    header = read_header(data, limits)
    check_supported(header)
    rgb = decode_rgb(data, _scale_for(min(header.width, header.height), resize_short), limits)
    rgb = upright_pixels(rgb, header.orientation)
    h, w = rgb.shape[:2]
    if min(h, w) != resize_short:
        s = resize_short / min(h, w)
        nw, nh = max(size, round(w * s)), max(size, round(h * s))
        rgb = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None))
        h, w = nh, nw
    top, left = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(rgb[top : top + size, left : left + size])
