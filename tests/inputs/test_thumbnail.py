"""Bytes -> DRNet's DC thumbnail."""

import numpy as np
from PIL import Image

from inputs.thumbnail import thumbnail_input
from tests.support.jpegs import encode


def test_thumbnail_is_the_block_mean_image(photo: Image.Image) -> None:
    data = encode(photo.convert("L"), quality=100)
    t = thumbnail_input(data, 8)
    assert t.shape == (3, 8, 8)
    means = np.asarray(photo.convert("L"), dtype=np.float64).reshape(8, 8, 12, 8).mean(axis=(1, 3))
    np.testing.assert_allclose(t[0], means[:, 2:10], atol=1.5)
    assert np.all(t[1:] == 128.0)
