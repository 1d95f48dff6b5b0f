"""Bytes -> RGB model inputs: scaled decode, EXIF orientation, resize, centre crop."""

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from inputs.rgb import rgb_input
from tests.support.jpegs import encode


def test_rgb_input_is_a_centre_crop_of_the_resized_photo(photo: Image.Image) -> None:
    data = encode(photo, quality=95)
    out = rgb_input(data, 48, 60)
    assert out.shape == (48, 48, 3) and out.dtype == np.uint8
    ref = np.asarray(photo.resize((90, 60), Image.Resampling.BILINEAR))[6:54, 21:69]
    assert np.abs(out.astype(int) - ref).mean() < 6


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(orientation: int) -> None:
    """Regression (orientation 7 was rotated counter-clockwise instead of transposed and turned 180):
    every orientation shows the photo as Pillow's ``ImageOps.exif_transpose`` does."""
    rng = np.random.default_rng(orientation)
    # An asymmetric scene: a bright block in one corner, a gradient, a little noise.
    img = np.zeros((48, 80, 3), np.float64)
    img += np.linspace(0, 120, 80)[None, :, None]
    img[4:20, 6:30] = (250, 40, 40)
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.fromarray(img), quality=95, subsampling=0, exif=exif.tobytes())
    ref = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    short = min(ref.shape[:2])
    out = rgb_input(data, short, short)  # no resize: a centre crop of the upright decode
    top, left = (ref.shape[0] - short) // 2, (ref.shape[1] - short) // 2
    expected = ref[top : top + short, left : left + short]
    assert np.abs(out.astype(int) - expected).mean() < 2.0
