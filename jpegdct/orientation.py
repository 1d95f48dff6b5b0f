"""EXIF orientation as one table of elementary operations, shared by the coefficient and the pixel paths.

Each orientation 1-8 is undone by a transpose ("t"), then a left-right mirror ("h"), then a top-bottom
mirror ("v"), applied left to right. The block-grid path (``jpegdct.blocks.orient``) and the pixel path
(``inputs.rgb``) both read ``UPRIGHT_OPS``, so they cannot disagree about what an orientation means.
"""

from collections.abc import Callable
from typing import Literal, TypeVar

import numpy as np

Op = Literal["t", "h", "v"]
A = TypeVar("A")

# EXIF orientation -> operations (applied left to right) that bring the image upright.
UPRIGHT_OPS: dict[int, tuple[Op, ...]] = {
    1: (),
    2: ("h",),
    3: ("h", "v"),  # rotate 180 degrees
    4: ("v",),
    5: ("t",),  # transpose
    6: ("t", "h"),  # rotate 90 degrees clockwise
    7: ("t", "h", "v"),  # transverse: transpose, then rotate 180 degrees
    8: ("t", "v"),  # rotate 270 degrees clockwise
}


def swaps_axes(orientation: int) -> bool:
    """Orientations 5-8 are stored transposed: width and height swap when made upright."""
    return "t" in UPRIGHT_OPS.get(orientation, ())


def apply_upright(x: A, orientation: int, ops: dict[Op, Callable[[A], A]]) -> A:
    """Apply ``orientation``'s operations to ``x``, each implemented by ``ops[op]``."""
    for op in UPRIGHT_OPS.get(orientation, ()):
        x = ops[op](x)
    return x


# Pixel arrays [H, W, ...]: the same operations on the first two axes.
PIXEL_OPS: dict[Op, Callable[[np.ndarray], np.ndarray]] = {
    "t": lambda a: np.swapaxes(a, 0, 1),
    "h": lambda a: a[:, ::-1],
    "v": lambda a: a[::-1],
}


def upright_pixels(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """A decoded ``[H, W, C]`` image as it is meant to be displayed (contiguous copy only when moved)."""
    if not UPRIGHT_OPS.get(orientation):
        return pixels
    return np.ascontiguousarray(apply_upright(pixels, orientation, PIXEL_OPS))
