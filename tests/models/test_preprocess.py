"""Bytes -> model inputs (torch-free), on JPEGs made in the test."""

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from jpegdct import read_header
from models.contract import InputContract
from models.preprocess import dct_input, downscale_factor, rgb_input, thumbnail_input

DCT24 = InputContract(kind="dct", class_ids=("a",), labels=("A",), preset="dct24", grid=(8, 8), source_short=64)
DCT64 = InputContract(kind="dct", class_ids=("a",), labels=("A",), preset="dct64", grid=(8, 8), source_short=64)


def _encode(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def _deq(coefs: np.ndarray, steps: np.ndarray) -> np.ndarray:
    return coefs.astype(np.float64) * steps[:, None, None]


@pytest.fixture(scope="module")
def photo(jpeg_factory: Callable[..., bytes]) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_factory(96, 64, seed=3, quality=95))).convert("RGB")


def test_dct_input_shapes_dtypes_and_bytes(photo: Image.Image) -> None:
    x = dct_input(_encode(photo, quality=90, subsampling=2), DCT24)
    assert x.luma.shape == (16, 8, 8) and x.luma.dtype == np.int16
    assert x.chroma.shape == (8, 4, 4) and x.chroma.dtype == np.int16
    assert x.luma_q.dtype == np.float32 and x.chroma_q.shape == (8,)
    assert x.nbytes == DCT24.input_bytes()


def test_444_chroma_is_resampled_to_the_420_grid(photo: Image.Image) -> None:
    native = dct_input(_encode(photo, quality=95, subsampling=2), DCT24)
    full = dct_input(_encode(photo, quality=95, subsampling=0), DCT24)
    assert np.all(full.chroma_q == 1.0)  # dequantized by the exact DCT-domain box filter
    a, b = _deq(native.chroma, native.chroma_q), _deq(full.chroma, full.chroma_q)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.98
    np.testing.assert_array_equal(native.luma, dct_input(_encode(photo, quality=95, subsampling=2), DCT24).luma)


def test_grayscale_has_exactly_neutral_chroma(photo: Image.Image) -> None:
    x = dct_input(_encode(photo.convert("L"), quality=90), DCT24)
    assert not x.chroma.any() and np.all(x.chroma_q == 1.0)


@pytest.mark.parametrize(("short", "factor"), [(64, 1), (90, 1), (91, 2), (180, 2), (182, 4), (2000, 4)])
def test_downscale_factor_picks_the_nearest_power_of_two(short: int, factor: int) -> None:
    assert downscale_factor(short, 64) == factor


@pytest.mark.parametrize("scale", [2, 4])
def test_large_photos_are_downscaled_in_the_dct_domain(photo: Image.Image, scale: int) -> None:
    """A photo re-encoded 2x/4x larger gives nearly the inputs of the original (same scene at the same scale)."""
    ref = dct_input(_encode(photo, quality=95, subsampling=0), DCT24)
    big = photo.resize((photo.width * scale, photo.height * scale), Image.Resampling.BOX)
    x = dct_input(_encode(big, quality=95, subsampling=0), DCT24)
    a, b = _deq(x.luma, x.luma_q), _deq(ref.luma, ref.luma_q)
    assert np.all(x.luma_q == 1.0)
    assert np.abs(a[0] - b[0]).mean() < 0.05 * np.abs(b[0]).mean()  # DC: block means of the same scene
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.97


@pytest.mark.parametrize("contract", [DCT24, DCT64], ids=["dct24", "dct64-not-transpose-closed"])
def test_exif_rotation_equals_rotating_the_pixels(photo: Image.Image, contract: InputContract) -> None:
    """Orientation 6 (rotate 90 cw) read in the DCT domain == the upright photo encoded directly."""
    upright = photo.rotate(-90, expand=True)  # what a viewer shows
    exif = Image.Exif()
    exif[0x0112] = 6
    tagged = _encode(photo, quality=100, subsampling=0, exif=exif.tobytes())
    assert read_header(tagged).orientation == 6
    x = dct_input(tagged, contract)
    ref = dct_input(_encode(upright, quality=100, subsampling=0), contract)
    a, b = _deq(x.luma, x.luma_q), _deq(ref.luma, ref.luma_q)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


def test_rgb_input_is_a_centre_crop_of_the_resized_photo(photo: Image.Image) -> None:
    data = _encode(photo, quality=95)
    out = rgb_input(data, 48, 60)
    assert out.shape == (48, 48, 3) and out.dtype == np.uint8
    ref = np.asarray(photo.resize((90, 60), Image.Resampling.BILINEAR))[6:54, 21:69]
    assert np.abs(out.astype(int) - ref).mean() < 6


def test_thumbnail_is_the_block_mean_image(photo: Image.Image) -> None:
    data = _encode(photo.convert("L"), quality=100)
    t = thumbnail_input(data, 8)
    assert t.shape == (3, 8, 8)
    means = np.asarray(photo.convert("L"), dtype=np.float64).reshape(8, 8, 12, 8).mean(axis=(1, 3))
    np.testing.assert_allclose(t[0], means[:, 2:10], atol=1.5)
    assert np.all(t[1:] == 128.0)
