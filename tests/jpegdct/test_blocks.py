"""jpegdct.blocks: DCT-domain flips/rotations vs jpegtran and vs the pixel domain; trimming; downsampling."""

from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageOps

from jpegdct import PRESETS, JpegCoefficients, read_coefficients, read_header
from jpegdct.blocks import (
    center_offsets,
    crop_or_pad,
    downsample2x,
    downsample_blocks,
    hflip,
    orient,
    orient_array,
    transpose,
    transposed_channels,
    trim_to_mcus,
    vflip,
)
from tests.support.jpegs import JPEGTRAN_UPRIGHT

ORIENTATIONS = range(1, 9)
# The same transforms on a numpy image [H, W, ...], written independently of jpegdct.blocks.
PIXEL_OPS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),  # 90 degrees clockwise
    7: lambda a: np.rot90(np.swapaxes(a, 0, 1), 2),
    8: lambda a: np.rot90(a, 1),
}
# Same bounds as the reference-decode test in test_reader.py (see the derivation there).
MAX_ERR = {"4:4:4": 3, "4:2:2": 4, "4:2:0": 4, "gray": 1}
# MCU-aligned sizes (height, width) per subsampling, so jpegtran -perfect accepts every transform.
ALIGNED = {"4:4:4": (24, 40), "4:2:2": (24, 48), "4:2:0": (32, 48), "gray": (16, 24)}


def _with_orientation(jc: JpegCoefficients, orientation: int) -> JpegCoefficients:
    return replace(jc, header=replace(jc.header, orientation=orientation))


def _encode(kit: SimpleNamespace, subsampling: str, height: int, width: int, seed: int = 0) -> bytes:
    gray = subsampling == "gray"
    img = kit.smooth_image(height, width, seed=seed, gray=gray)
    return kit.encode(img, 90, "4:4:4" if gray else subsampling)


def _assert_same_coefficients(a: JpegCoefficients, b: JpegCoefficients) -> None:
    assert (a.width, a.height) == (b.width, b.height)
    assert (a.header.h_samp, a.header.v_samp) == (b.header.h_samp, b.header.v_samp)
    for ca, cb in zip(a.components, b.components, strict=True):
        assert (ca.h_samp, ca.v_samp) == (cb.h_samp, cb.v_samp)
        np.testing.assert_array_equal(ca.quant_table, cb.quant_table)
        np.testing.assert_array_equal(ca.coefficients, cb.coefficients)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("subsampling", list(ALIGNED))
def test_orient_bit_exact_with_jpegtran(
    kit: SimpleNamespace, jpegtran: Callable, subsampling: str, orientation: int
) -> None:
    data = _encode(kit, subsampling, *ALIGNED[subsampling])
    ours = orient(_with_orientation(read_coefficients(data), orientation))
    theirs = read_coefficients(jpegtran(["-perfect", *JPEGTRAN_UPRIGHT[orientation]], data))
    _assert_same_coefficients(ours, theirs)


@pytest.mark.parametrize("orientation", [2, 5, 6, 7])
def test_orient_odd_size_equals_jpegtran_crop_then_transform(
    kit: SimpleNamespace, jpegtran: Callable, orientation: int
) -> None:
    data = _encode(kit, "4:2:0", 37, 53)
    cropped = jpegtran(["-crop", "48x32+0+0"], data)  # the whole-MCU part, losslessly
    theirs = read_coefficients(jpegtran(["-perfect", *JPEGTRAN_UPRIGHT[orientation]], cropped))
    _assert_same_coefficients(orient(_with_orientation(read_coefficients(data), orientation)), theirs)


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:2:2", "4:4:4", "gray"])
@pytest.mark.parametrize(("height", "width"), [(37, 53), (17, 9), (32, 48), (15, 15)])
def test_trim_to_mcus(kit: SimpleNamespace, subsampling: str, height: int, width: int) -> None:
    jc = read_coefficients(_encode(kit, subsampling, height, width))
    before = [c.coefficients.copy() for c in jc.components]
    t = trim_to_mcus(jc)
    mh, mw = (8, 8) if subsampling in ("4:4:4", "gray") else ((8, 16) if subsampling == "4:2:2" else (16, 16))
    assert (t.height, t.width) == (height // mh * mh, width // mw * mw)
    for c, tc, b in zip(jc.components, t.components, before, strict=True):
        rows, cols = t.height // mh * c.v_samp, t.width // mw * c.h_samp
        assert tc.coefficients.shape == (64, rows, cols)
        np.testing.assert_array_equal(tc.coefficients, b[:, :rows, :cols])
        np.testing.assert_array_equal(c.coefficients, b)  # input untouched
    assert trim_to_mcus(t).header == t.header  # idempotent


def test_trim_to_mcus_matches_jpegtran_crop(kit: SimpleNamespace, jpegtran: Callable) -> None:
    data = _encode(kit, "4:2:2", 37, 53)
    _assert_same_coefficients(
        trim_to_mcus(read_coefficients(data)), read_coefficients(jpegtran(["-crop", "48x32+0+0"], data))
    )


@pytest.mark.parametrize("orientation", ORIENTATIONS)
@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0", "gray"])
def test_orient_matches_pixel_domain(kit: SimpleNamespace, subsampling: str, orientation: int) -> None:
    data = _encode(kit, subsampling, *ALIGNED[subsampling], seed=orientation)
    jc = read_coefficients(data)
    before = [(c.coefficients.copy(), c.quant_table.copy()) for c in jc.components]
    oriented = orient(_with_orientation(jc, orientation))
    for c, (coefs, quant) in zip(jc.components, before, strict=True):  # input untouched, dtypes kept
        np.testing.assert_array_equal(c.coefficients, coefs)
        np.testing.assert_array_equal(c.quant_table, quant)
    for c in oriented.components:
        assert c.coefficients.dtype == np.int16 and c.quant_table.dtype == np.uint16
        assert c.coefficients.flags.c_contiguous
    # (1) against Pillow's decode, transformed in numpy: the bound of the reference-decode test.
    expected = PIXEL_OPS[orientation](kit.pillow_rgb(data))
    err = np.abs(kit.to_uint8(kit.ref_decode(oriented)) - expected)
    assert err.mean() < 1.0 and err.max() <= MAX_ERR[subsampling]
    # (2) decoding commutes with the transform, up to float rounding: exactness, not just closeness.
    np.testing.assert_allclose(kit.ref_decode(oriented), PIXEL_OPS[orientation](kit.ref_decode(jc)), atol=1e-9)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_orient_from_pillow_exif_on_odd_size(kit: SimpleNamespace, orientation: int) -> None:
    height, width = 37, 53
    data = kit.encode(kit.smooth_image(height, width, seed=2), 90, "4:2:0", orientation=orientation)
    jc = read_coefficients(data)
    assert jc.orientation == read_header(data).orientation == orientation
    oriented = orient(jc)
    assert oriented.orientation == 1
    if orientation == 1:
        assert oriented is jc
        return
    # Pillow's own EXIF handling on the whole-MCU part (orient trims partial MCUs first).
    cropped = Image.fromarray(kit.to_uint8(kit.pillow_rgb(data))[:32, :48].astype(np.uint8))
    cropped.getexif()[0x0112] = orientation
    expected = np.asarray(ImageOps.exif_transpose(cropped), dtype=np.float64)
    assert (oriented.height, oriented.width) == expected.shape[:2]
    err = np.abs(kit.to_uint8(kit.ref_decode(oriented)) - expected)
    assert err.mean() < 1.0
    # Pillow decoded the whole image, so at the cut (last row and column of the kept part) its fancy
    # upsampler blended in chroma from the dropped partial MCUs, where the trimmed image replicates its edge.
    interior = np.ones((32, 48), dtype=bool)
    interior[-1, :] = interior[:, -1] = False
    assert err[PIXEL_OPS[orientation](interior)].max() <= MAX_ERR["4:2:0"]


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32])
@pytest.mark.parametrize("preset", ["dct24", "dct48", "dct192"])
def test_grid_ops_keep_dtype_do_not_mutate_and_batch(dtype: type, preset: str) -> None:
    chans = PRESETS[preset].luma
    rng = np.random.default_rng(0)
    batch = rng.integers(-500, 500, (3, len(chans), 5, 7)).astype(dtype)
    original = batch.copy()
    ops: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "hflip": lambda x: hflip(x, chans),
        "vflip": lambda x: vflip(x, chans),
        "transpose": lambda x: transpose(x, chans),
        **{f"orient{o}": (lambda x, o=o: orient_array(x, chans, o)) for o in ORIENTATIONS},
    }
    for name, op in ops.items():
        out = op(batch)
        assert out.dtype == dtype, name
        np.testing.assert_array_equal(batch, original, err_msg=name)
        np.testing.assert_array_equal(out, np.stack([op(x) for x in batch]), err_msg=name)
    np.testing.assert_array_equal(hflip(hflip(batch, chans), chans), batch)
    np.testing.assert_array_equal(vflip(vflip(batch, chans), chans), batch)
    np.testing.assert_array_equal(transpose(transpose(batch, chans), chans), batch)
    # Rotating by 90 degrees clockwise (6) then counter-clockwise (8) is the identity.
    np.testing.assert_array_equal(orient_array(orient_array(batch, chans, 6), chans, 8), batch)
    assert orient_array(batch, chans, 6).shape == (3, len(chans), 7, 5)


def test_transpose_refuses_a_set_not_closed_under_transposition() -> None:
    chans = (0, 1, 2, 8)  # (0, 2) transposes to (2, 0) = 16, which is missing
    assert transposed_channels(chans) == (0, 8, 16, 1)
    with pytest.raises(ValueError, match="not closed under transposition"):
        transpose(np.zeros((4, 2, 2), np.int16), chans)
    hflip(np.zeros((4, 2, 2), np.int16), chans)  # flips need no closure


def test_hflip_signs_on_a_single_block(kit: SimpleNamespace) -> None:
    # Mirroring a block negates exactly the odd horizontal frequencies.
    coefs = np.arange(1, 65, dtype=np.int16).reshape(64, 1, 1)
    flipped = hflip(coefs, range(64)).reshape(8, 8)
    u = np.arange(8)
    np.testing.assert_array_equal(flipped, np.arange(1, 65).reshape(8, 8) * np.where(u % 2, -1, 1)[None, :])
    pixels = kit.idct_plane(coefs, np.ones(64))
    np.testing.assert_allclose(kit.idct_plane(hflip(coefs, range(64)), np.ones(64)), pixels[:, ::-1], atol=1e-9)


def _fdct_plane(pixels: np.ndarray) -> np.ndarray:
    """Blockwise orthonormal forward DCT of [8*bh, 8*bw] samples -> [64, bh, bw] natural order."""
    d = np.sqrt(2 / 8) * np.cos((2 * np.arange(8)[None, :] + 1) * np.arange(8)[:, None] * np.pi / 16)
    d[0] /= np.sqrt(2)
    bh, bw = pixels.shape[0] // 8, pixels.shape[1] // 8
    blocks = pixels.reshape(bh, 8, bw, 8)
    return np.einsum("vy,ux,hywx->vuhw", d, d, blocks).reshape(64, bh, bw)


@pytest.mark.parametrize(("factor_v", "factor_h"), [(1, 1), (1, 2), (2, 1), (2, 2)])
@pytest.mark.parametrize(("bh", "bw"), [(4, 6), (3, 5), (1, 1)])
def test_downsample2x_equals_pixel_box_filter(
    kit: SimpleNamespace, factor_v: int, factor_h: int, bh: int, bw: int
) -> None:
    rng = np.random.default_rng(bh * 10 + bw)
    deq = rng.normal(0, 50, (64, bh, bw)) * np.exp(-np.arange(64) / 20)[:, None, None]
    deq_int = np.rint(deq).astype(np.int16)
    original = deq_int.copy()
    out = downsample2x(deq_int, factor_v, factor_h)
    np.testing.assert_array_equal(deq_int, original)

    pixels = kit.idct_plane(deq_int, np.ones(64)) - 128
    # Odd block counts: the last block row/column is replicated before halving.
    if factor_v == 2 and bh % 2:
        pixels = np.concatenate([pixels, pixels[-8:]], axis=0)
    if factor_h == 2 and bw % 2:
        pixels = np.concatenate([pixels, pixels[:, -8:]], axis=1)
    h, w = pixels.shape
    box = pixels.reshape(h // factor_v, factor_v, w // factor_h, factor_h).mean(axis=(1, 3))
    expected = _fdct_plane(box)
    assert out.shape == expected.shape == (64, -(-bh // factor_v), -(-bw // factor_h))
    np.testing.assert_allclose(out, expected, atol=1e-9)


def test_crop_or_pad_and_center_offsets() -> None:
    x = np.arange(2 * 4 * 6, dtype=np.int16).reshape(2, 4, 6)
    out = crop_or_pad(x, 1, 2, 2, 3)
    np.testing.assert_array_equal(out, x[:, 1:3, 2:5])
    assert out.dtype == np.int16
    padded = crop_or_pad(x, -1, -2, 6, 10)
    assert padded.shape == (2, 6, 10)
    np.testing.assert_array_equal(padded[:, 1:5, 2:8], x)
    assert padded.sum() == x.sum()
    assert crop_or_pad(x, 10, 10, 2, 2).sum() == 0
    assert center_offsets(9, 13, 4, 4) == (2, 4)
    assert center_offsets(9, 13, 4, 4, align=2) == (2, 4)
    assert center_offsets(11, 15, 4, 4, align=2) == (2, 4)
    assert center_offsets(4, 4, 8, 8, align=2) == (-2, -2)


def test_orient_moves_quantization_steps_with_transposed_coefficients(kit: SimpleNamespace) -> None:
    # Regression: orient() used to transpose the coefficients but keep the quantization table, so every
    # rotated image (EXIF 5-8) was dequantized with the steps of the transposed frequencies.
    data = kit.encode(kit.noise_image(32, 48, seed=4), quality=60, orientation=6)
    chans = PRESETS["dct24"].per_component
    jc = read_coefficients(data, chans)
    oriented = orient(jc)
    # The Annex K luminance table is not symmetric (its chrominance table is).
    assert not np.array_equal(jc.components[0].quant_table, oriented.components[0].quant_table)
    for before, after in zip(jc.components, oriented.components, strict=True):
        deq_before = before.coefficients * before.quant_steps[:, None, None].astype(np.int32)
        deq_after = after.coefficients * after.quant_steps[:, None, None].astype(np.int32)
        np.testing.assert_array_equal(deq_after, orient_array(deq_before, before.channels, 6))


@pytest.mark.parametrize(("factor_v", "factor_h"), [(4, 4), (2, 4), (4, 1), (8, 8)])
def test_downsample_blocks_any_power_of_two_and_only_wanted_channels(
    kit: SimpleNamespace, factor_v: int, factor_h: int
) -> None:
    rng = np.random.default_rng(factor_v * 10 + factor_h)
    bh, bw = 8, 12  # odd multiples are covered above; here exact multiples of every factor but 8 on bw
    deq = rng.normal(0, 50, (64, bh, bw)) * np.exp(-np.arange(64) / 20)[:, None, None]
    pixels = kit.idct_plane(deq, np.ones(64)) - 128
    if bw % factor_h:
        pixels = np.concatenate([pixels] + [pixels[:, -8:]] * (factor_h - bw % factor_h), axis=1)
    h, w = pixels.shape
    expected = _fdct_plane(pixels.reshape(h // factor_v, factor_v, w // factor_h, factor_h).mean(axis=(1, 3)))
    wanted = (0, 1, 2, 3, 8, 9, 16, 24, 27, 63)
    out64 = downsample_blocks(deq, factor_v, factor_h, dtype=np.float64)
    np.testing.assert_allclose(out64, expected, atol=1e-9)
    out32 = downsample_blocks(deq, factor_v, factor_h, wanted)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, expected[list(wanted)], atol=1e-3)
