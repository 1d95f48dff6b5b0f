"""Shared fixtures: tiny JPEG datasets made inside the tests (never the real photos)."""

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def make_jpeg(
    width: int,
    height: int,
    seed: int = 0,
    quality: int = 75,
    subsampling: int = 2,
    mode: str = "RGB",
    **save_kw: object,
) -> bytes:
    """A smooth random image (gradients + blobs), so the JPEG has realistic low-frequency content."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    chans = []
    for _ in range(3):
        a, b, c = rng.uniform(-1, 1, 3)
        chans.append(128 + 90 * np.sin(6 * a * xx + 6 * b * yy + 3 * c))
    img = np.clip(np.stack(chans, -1) + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(img).convert(mode)
    buf = io.BytesIO()
    kw = {"subsampling": subsampling} if mode != "L" else {}
    im.save(buf, "JPEG", quality=quality, **kw, **save_kw)
    return buf.getvalue()


@pytest.fixture(scope="session")
def jpeg_factory() -> Callable[..., bytes]:
    return make_jpeg


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 classes x 8 JPEGs of assorted sizes (a few grayscale) in class sub-folders."""
    root = tmp_path_factory.mktemp("tiny_dataset")
    for c in range(3):
        d = root / f"n0000000{c}"
        d.mkdir()
        for i in range(8):
            mode = "L" if i == 7 else "RGB"
            (d / f"img_{i}.JPEG").write_bytes(make_jpeg(96 + 8 * i, 80 + 4 * c, seed=10 * c + i, mode=mode))
    return root
