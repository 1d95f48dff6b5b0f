"""Bytes -> DCT model inputs (torch-free), on JPEGs made in the test."""

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from inputs.contract import InputContract
from inputs.dct import dct_input, downscale_factor
from inputs.kinds import entry_graph
from jpegdct import read_coefficients, read_header
from jpegdct.blocks import dct_matrix
from tests.support.jpegs import encode

DCT24 = InputContract(kind="dct", class_ids=("a",), labels=("A",), preset="dct24", grid=(8, 8), source_short=64)
DCT64 = InputContract(kind="dct", class_ids=("a",), labels=("A",), preset="dct64", grid=(8, 8), source_short=64)


def _deq(coefs: np.ndarray, steps: np.ndarray) -> np.ndarray:
    return coefs.astype(np.float64) * steps[:, None, None]


def test_dct_input_shapes_dtypes_and_bytes(photo: Image.Image) -> None:
    x = dct_input(encode(photo, quality=90, subsampling=2), DCT24)
    assert x.luma.shape == (16, 8, 8) and x.luma.dtype == np.int16
    assert x.chroma.shape == (8, 4, 4) and x.chroma.dtype == np.int16
    assert x.luma_q.dtype == np.float32 and x.chroma_q.shape == (8,)
    assert x.nbytes == entry_graph(DCT24).input_bytes


def _blocks_to_pixels(coefs: np.ndarray) -> np.ndarray:
    """Dequantized ``[64, H, W]`` -> ``[8H, 8W]`` level-shifted samples (exact inverse DCT, no rounding)."""
    d = dct_matrix()
    h, w = coefs.shape[1:]
    return np.einsum("vm,vuhw,uk->hmwk", d, coefs.reshape(8, 8, h, w), d).reshape(8 * h, 8 * w)


def _pixels_to_blocks(pixels: np.ndarray) -> np.ndarray:
    d = dct_matrix()
    h, w = pixels.shape[0] // 8, pixels.shape[1] // 8
    return np.einsum("vm,hmwk,uk->vuhw", d, pixels.reshape(h, 8, w, 8), d).reshape(64, h, w)


def test_444_chroma_is_resampled_to_the_420_grid(photo: Image.Image) -> None:
    """4:4:4 chroma reaches the model as the 2x2 box average of its own samples, block-transformed again:
    the DCT-domain resampling against a pixel-domain reference (inverse DCT, average, forward DCT)."""
    data = encode(photo, quality=95, subsampling=0)
    x = dct_input(data, DCT24)
    assert x.chroma.shape == (8, 4, 4) and np.all(x.chroma_q == 1.0)  # dequantized by the resampling
    jc = read_coefficients(data)
    wanted = list(DCT24.channel_preset.chroma)
    # The photo is 12x8 luma blocks; the 8x8-block grid is centred at block column 2 (on whole 4:2:0 MCUs).
    for plane, comp in enumerate(jc.components[1:]):
        pixels = _blocks_to_pixels(comp.coefficients * comp.quant_table[:, None, None])[0:64, 16:80]
        box = pixels.reshape(32, 2, 32, 2).mean(axis=(1, 3))
        ref = _pixels_to_blocks(box)[wanted]
        got = x.chroma[plane * len(wanted) : (plane + 1) * len(wanted)]
        np.testing.assert_allclose(got, ref, atol=0.5 + 1e-6)  # int16 rounding of the dequantized result


def test_411_chroma_is_upsampled_to_the_420_grid(cjpeg: Callable[[list[str], np.ndarray], bytes]) -> None:
    """4:1:1 chroma (a quarter of the luma width) reaches the model on the 4:2:0 grid: 2x horizontally by
    repeating samples, 2x vertically by the box filter, against the pixel-domain reference."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:64, 0:128]
    img = np.stack([128 + 60 * np.sin(xx / (7 + 3 * c) + yy / (5 + c)) for c in range(3)], -1)
    img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
    data = cjpeg(["-quality", "95", "-sample", "4x1,1x1,1x1"], img)
    assert read_header(data).subsampling == "4:1:1"
    c = InputContract(kind="dct", class_ids=("a",), labels=("A",), preset="dct24", grid=(8, 8), source_short=64)
    x = dct_input(data, c)
    jc = read_coefficients(data)
    wanted = list(c.channel_preset.chroma)
    # 16x8 luma blocks, grid 8x8 at block column 4 (aligned to the 4-block 4:1:1 MCU): chroma columns 1..3.
    for plane, comp in enumerate(jc.components[1:]):
        pixels = _blocks_to_pixels(comp.coefficients * comp.quant_table[:, None, None])[0:64, 8:24]
        resampled = np.repeat(pixels, 2, axis=1).reshape(32, 2, 32).mean(axis=1)
        ref = _pixels_to_blocks(resampled)[wanted]
        got = x.chroma[plane * len(wanted) : (plane + 1) * len(wanted)]
        np.testing.assert_allclose(got, ref, atol=0.5 + 1e-6)


def test_grayscale_has_exactly_neutral_chroma(photo: Image.Image) -> None:
    x = dct_input(encode(photo.convert("L"), quality=90), DCT24)
    assert not x.chroma.any() and np.all(x.chroma_q == 1.0)


@pytest.mark.parametrize(("short", "factor"), [(64, 1), (90, 1), (91, 2), (180, 2), (182, 4), (2000, 4)])
def test_downscale_factor_picks_the_nearest_power_of_two(short: int, factor: int) -> None:
    assert downscale_factor(short, 64) == factor


@pytest.mark.parametrize("scale", [2, 4])
def test_large_photos_are_downscaled_in_the_dct_domain(photo: Image.Image, scale: int) -> None:
    """A photo re-encoded 2x/4x larger gives nearly the inputs of the original (same scene at the same scale)."""
    ref = dct_input(encode(photo, quality=95, subsampling=0), DCT24)
    big = photo.resize((photo.width * scale, photo.height * scale), Image.Resampling.BOX)
    x = dct_input(encode(big, quality=95, subsampling=0), DCT24)
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
    tagged = encode(photo, quality=100, subsampling=0, exif=exif.tobytes())
    assert read_header(tagged).orientation == 6
    x = dct_input(tagged, contract)
    ref = dct_input(encode(upright, quality=100, subsampling=0), contract)
    a, b = _deq(x.luma, x.luma_q), _deq(ref.luma, ref.luma_q)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99
