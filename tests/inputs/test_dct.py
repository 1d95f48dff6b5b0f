"""Bytes -> DCT model inputs (torch-free), on JPEGs made in the test."""

import math
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from inputs.contract import InputContract
from inputs.dct import dct_input, dct_read_plan, exact_factor
from inputs.kinds import entry_graph
from jpegdct import read_coefficients, read_header
from jpegdct.blocks import dct_k, dct_matrix, trim_to_mcus
from jpegdct.resample import low_channels, resample_weights
from tests.support.jpegs import encode, with_orientation

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


@pytest.mark.parametrize(("short", "factor"), [(64, 1), (128, 2), (256, 4), (90, None), (512, None), (40, None)])
def test_only_exact_multiples_take_the_exact_box_path(short: int, factor: int | None) -> None:
    assert exact_factor(short, 64) == factor


@pytest.mark.parametrize(
    ("size", "subsampling", "luma_k", "chroma_k"),
    [((150, 100), 2, 6, 6), ((600, 400), 2, 2, 2), ((600, 400), 0, 2, 1), ((64, 40), 2, 8, 8)],
)
def test_any_factor_plans_read_only_the_low_coefficients_they_need(
    photo: Image.Image, size: tuple[int, int], subsampling: int, luma_k: int, chroma_k: int
) -> None:
    header = read_header(encode(photo.resize(size), quality=90, subsampling=subsampling))
    plan = dct_read_plan(header, DCT24)
    assert plan.factor is None and plan.scale == 64 / min(size)
    assert plan.channels == (
        low_channels(luma_k, luma_k),
        low_channels(chroma_k, chroma_k),
        low_channels(chroma_k, chroma_k),
    )


def test_an_upright_photo_reads_only_the_blocks_under_its_bands_and_a_rotated_one_reads_all(
    photo: Image.Image,
) -> None:
    data = encode(photo.resize((300, 150)), quality=90, subsampling=2)
    plan = dct_read_plan(read_header(data), DCT24)
    luma, cb, cr = plan.windows
    # Whole MCUs: 18 x 36 luma blocks, scale 64 / 144; the 8x8-block centre crop spans 18 of the 36 columns
    # (from 9), and the area filter reaches at most a block past it on each side.
    assert (luma.top, luma.height) == (0, 18)
    assert 8 <= luma.left <= 9 and 18 <= luma.width <= 20
    assert cb == cr and (cb.top, cb.height) == (0, 9) and 4 <= cb.left <= 5 and 9 <= cb.width <= 11
    rotated = with_orientation(data, 6)
    assert dct_read_plan(read_header(rotated), DCT24).windows == ()


def _scaled_decode(comp: object, k: int) -> np.ndarray:
    """A component decoded at k/8 of its size from each block's lowest k x k coefficients (libjpeg's
    scaled decode; k = 8: the exact full decode)."""
    c = (comp.coefficients * comp.quant_table[:, None, None]).reshape(8, 8, *comp.coefficients.shape[1:])
    d = dct_k(k) * np.sqrt(k / 8)
    h, w = c.shape[2:]
    return np.einsum("vm,vuhw,uk->hmwk", d, c[:k, :k], d).reshape(k * h, k * w)


def _pixel_reference(
    comp: object,
    k: int,
    scale: tuple[float, float],
    start: tuple[float, float],
    grid: tuple[int, int],
    wanted: list[int],
) -> np.ndarray:
    """Decode the component (at k/8), resize with the same filter, block DCT."""
    pixels = _scaled_decode(comp, k)
    rv = resample_weights(pixels.shape[0], 8 * grid[0], scale[0] * 8 / k, start[0])
    rh = resample_weights(pixels.shape[1], 8 * grid[1], scale[1] * 8 / k, start[1])
    return _pixels_to_blocks(rv @ pixels @ rh.T)[wanted]


@pytest.mark.parametrize(("size", "subsampling"), [((77, 70), 2), ((75, 71), 0), ((90, 72), 1), ((52, 50), 2)])
def test_any_factor_resampling_matches_the_pixel_reference(
    photo: Image.Image, size: tuple[int, int], subsampling: int
) -> None:
    """Short side 70/71/72 (down to 64) and 50 (up to 64), chroma 4:2:0, 4:4:4 (halved: read at k/8) and
    4:2:2: every channel of luma and chroma against decode (at the plan's k/8, as libjpeg's scaled decode)
    -> resize with the same filter -> forward DCT."""
    data = encode(photo.resize(size), quality=95, subsampling=subsampling)
    x = dct_input(data, DCT24)
    plan = dct_read_plan(read_header(data), DCT24)
    ky, kc = (math.isqrt(len(c)) for c in plan.channels[:2])
    assert x.luma.shape == (16, 8, 8) and x.chroma.shape == (8, 4, 4) and np.all(x.luma_q == 1)
    jc = trim_to_mcus(read_coefficients(data))
    luma = jc.components[0]
    h, w = luma.coefficients.shape[1:]
    scale = 64 / (8 * min(h, w))  # of the photo as used: whole MCUs
    start = ((8 * h * scale - 64) / 2, (8 * w * scale - 64) / 2)
    ref = _pixel_reference(luma, ky, (scale, scale), start, (8, 8), list(DCT24.channel_preset.luma))
    np.testing.assert_allclose(x.luma, ref, atol=0.5 + 1e-3)
    wanted = list(DCT24.channel_preset.chroma)
    for plane, comp in enumerate(jc.components[1:]):
        cs = tuple(scale / 2 / (c / m) for c, m in ((comp.v_samp, luma.v_samp), (comp.h_samp, luma.h_samp)))
        ref = _pixel_reference(comp, kc, cs, (start[0] / 2, start[1] / 2), (4, 4), wanted)
        np.testing.assert_allclose(x.chroma[plane * len(wanted) : (plane + 1) * len(wanted)], ref, atol=0.5 + 1e-3)


@pytest.mark.parametrize("scale", [2, 4, 3, 1.5, 5.5, 0.75])
def test_photos_of_any_size_reach_the_model_at_its_scale(photo: Image.Image, scale: float) -> None:
    """A photo re-encoded at 0.75 ... 5.5x its size gives nearly the inputs of the original (the same scene
    at the same scale): exact box filter at 2x/4x, any-factor resampling otherwise."""
    ref = dct_input(encode(photo, quality=95, subsampling=0), DCT24)
    size = (round(photo.width * scale), round(photo.height * scale))
    big = photo.resize(size, Image.Resampling.BOX if scale > 1 else Image.Resampling.BILINEAR)
    x = dct_input(encode(big, quality=95, subsampling=0), DCT24)
    a, b = _deq(x.luma, x.luma_q), _deq(ref.luma, ref.luma_q)
    assert np.all(x.luma_q == 1.0)
    assert np.abs(a[0] - b[0]).mean() < 0.05 * np.abs(b[0]).mean()  # DC: block means of the same scene
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.97


@pytest.mark.parametrize("size", [None, (110, 73)], ids=["native", "any-factor"])
@pytest.mark.parametrize("contract", [DCT24, DCT64], ids=["dct24", "dct64-not-transpose-closed"])
def test_exif_rotation_equals_rotating_the_pixels(
    photo: Image.Image, contract: InputContract, size: tuple[int, int] | None
) -> None:
    """Orientation 6 (rotate 90 cw) read in the DCT domain == the upright photo encoded directly."""
    photo = photo if size is None else photo.resize(size)
    upright = photo.rotate(-90, expand=True)  # what a viewer shows
    exif = Image.Exif()
    exif[0x0112] = 6
    tagged = encode(photo, quality=100, subsampling=0, exif=exif.tobytes())
    assert read_header(tagged).orientation == 6
    x = dct_input(tagged, contract)
    ref = dct_input(encode(upright, quality=100, subsampling=0), contract)
    a, b = _deq(x.luma, x.luma_q), _deq(ref.luma, ref.luma_q)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


@pytest.mark.parametrize("sample", ["1x2,1x1,1x1", "4x1,1x1,1x1"], ids=["4:4:0", "4:1:1"])
def test_other_chroma_layouts_at_any_factor(cjpeg: Callable[[list[str], np.ndarray], bytes], sample: str) -> None:
    """4:4:0 and 4:1:1 at a size that is no multiple of the training scale: the 4:2:0 grid, and the same
    chroma as the photo encoded 4:2:0 (the same scene). 96x160 is whole MCUs in every layout, so no layout
    trims a partial edge MCU the others keep."""
    yy, xx = np.mgrid[0:96, 0:160]
    img = np.stack([128 + 60 * np.sin(xx / (7 + 3 * c) + yy / (5 + c)) for c in range(3)], -1).astype(np.uint8)
    x = dct_input(cjpeg(["-quality", "95", "-sample", sample], img), DCT24)
    ref = dct_input(cjpeg(["-quality", "95", "-sample", "2x2,1x1,1x1"], img), DCT24)
    assert x.chroma.shape == ref.chroma.shape == (8, 4, 4)
    a, b = _deq(x.chroma, x.chroma_q), _deq(ref.chroma, ref.chroma_q)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


def test_grayscale_at_any_factor_has_neutral_chroma(photo: Image.Image) -> None:
    x = dct_input(encode(photo.convert("L").resize((150, 100)), quality=90), DCT24)
    assert x.luma.shape == (16, 8, 8) and not x.chroma.any()
