"""Bytes -> DRNet's DC thumbnail."""

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from inputs.thumbnail import thumbnail_input


def _encode(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo(jpeg_factory: Callable[..., bytes]) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_factory(96, 64, seed=3, quality=95))).convert("RGB")


def test_thumbnail_is_the_block_mean_image(photo: Image.Image) -> None:
    data = _encode(photo.convert("L"), quality=100)
    t = thumbnail_input(data, 8)
    assert t.shape == (3, 8, 8)
    means = np.asarray(photo.convert("L"), dtype=np.float64).reshape(8, 8, 12, 8).mean(axis=(1, 3))
    np.testing.assert_allclose(t[0], means[:, 2:10], atol=1.5)
    assert np.all(t[1:] == 128.0)
