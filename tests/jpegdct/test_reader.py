"""jpegdct.reader: grids, quantization tables, channel selection, and an independent reference decode."""

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from jpegdct import (
    PRESETS,
    BlockWindow,
    JpegCoefficients,
    Limits,
    ReadRequest,
    decode_rgb,
    read_coefficients,
    read_header,
)

SIZES = [(8, 8), (16, 16), (37, 53), (17, 9), (1, 30), (64, 48)]
SAMPLING = {"4:4:4": ((1, 1, 1), (1, 1, 1)), "4:2:2": ((2, 1, 1), (1, 1, 1)), "4:2:0": ((2, 1, 1), (2, 1, 1))}

# Reference-decode bounds (max abs difference per RGB sample against Pillow, uint8 units).
# Both sides round every Y/Cb/Cr sample to 8 bits after the IDCT; libjpeg's integer "islow" IDCT is within
# +-1 of the exact transform per sample. Through R = Y + 1.402 Cr' and B = Y + 1.772 Cb' one unit in Y and
# in chroma gives at most 1 + 1.772 = 2.77, plus 0.5 from the final rounding: 3. Subsampled chroma is also
# rounded to integers by libjpeg's fancy upsampler (we keep it in float): +0.5 * 1.772 more, so 4.
# Grayscale has no colour conversion: islow's +-1.
MAX_ERR = {"4:4:4": 3, "4:2:2": 4, "4:2:0": 4, "4:4:0": 4, "gray": 1}


def _blocks(n: int) -> int:
    return -(-n // 8)


def _natural_quant(im: Image.Image) -> list[list[int]]:
    """Pillow's quantization tables in natural order, whatever order this Pillow reports them in."""
    tables = [list(t) for _, t in sorted(im.quantization.items())]
    return tables


@pytest.fixture(scope="module")
def pillow_zigzag() -> bool:
    """Older Pillows report quantization tables in zigzag order, newer ones in natural order: detect it.

    At quality 50 libjpeg uses the standard Annex K luminance table, which starts 16, 11, 10 in natural order
    and 16, 11, 12 in zigzag order.
    """
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "JPEG", quality=50)
    with Image.open(buf) as im:
        first = list(im.quantization[0][:3])
    assert first in ([16, 11, 10], [16, 11, 12]), first
    return first == [16, 11, 12]


_ZIGZAG = np.array(
    [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14]
    + [21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46]
    + [53, 60, 61, 54, 47, 55, 62, 63]
)  # zigzag position k -> natural index


@pytest.mark.parametrize("subsampling", list(SAMPLING))
@pytest.mark.parametrize(("height", "width"), SIZES)
def test_component_grids(kit: SimpleNamespace, subsampling: str, height: int, width: int) -> None:
    data = kit.encode(kit.noise_image(height, width), subsampling=subsampling)
    jc = read_coefficients(data)
    hs, vs = SAMPLING[subsampling]
    assert (jc.width, jc.height) == (width, height)
    assert jc.header.subsampling == subsampling
    assert (jc.header.h_samp, jc.header.v_samp) == (hs, vs)
    assert jc.has_chroma and len(jc.components) == 3
    for comp, h, v in zip(jc.components, hs, vs, strict=True):
        # A component spans ceil(size * samp / max_samp) samples, stored as whole 8x8 blocks.
        expected = (_blocks(-(-height * v // max(vs))), _blocks(-(-width * h // max(hs))))
        assert comp.coefficients.shape == (64, *expected)
        assert comp.coefficients.dtype == np.int16
        assert (comp.h_samp, comp.v_samp) == (h, v)
        assert comp.channels == tuple(range(64))


@pytest.mark.parametrize("quality", [30, 75, 95, 100])
def test_quant_tables_match_pillow(kit: SimpleNamespace, pillow_zigzag: bool, quality: int) -> None:
    data = kit.encode(kit.smooth_image(24, 40), quality=quality)
    jc = read_coefficients(data)
    with Image.open(io.BytesIO(data)) as im:
        tables = _natural_quant(im)
    if pillow_zigzag:
        tables = [list(np.array(t)[np.argsort(_ZIGZAG)]) for t in tables]
    assert jc.components[0].quant_table.dtype == np.uint16
    assert jc.components[0].quant_table.tolist() == tables[0]
    assert jc.components[1].quant_table.tolist() == tables[1]
    assert jc.components[2].quant_table.tolist() == tables[1]
    assert np.array_equal(jc.components[0].quant_steps, jc.components[0].quant_table)


@pytest.mark.parametrize("subsampling", list(SAMPLING))
def test_progressive_restart_and_optimized_huffman_give_identical_coefficients(
    kit: SimpleNamespace, subsampling: str
) -> None:
    # The same encoder DCT and quantization: only the entropy coding differs, so the coefficients must not.
    img = kit.noise_image(37, 53, seed=3)
    base = read_coefficients(kit.encode(img, subsampling=subsampling))
    variants = {
        "progressive": dict(progressive=True),
        "optimize": dict(optimize=True),
        "restart_blocks": dict(restart_blocks=2),
        "restart_rows": dict(restart_rows=1),
        "progressive_restart": dict(progressive=True, restart_blocks=3),
    }
    for name, kw in variants.items():
        data = kit.encode(img, subsampling=subsampling, **kw)
        jc = read_coefficients(data)
        assert jc.header.progressive == kw.get("progressive", False), name
        if "restart_blocks" in kw or "restart_rows" in kw:
            assert jc.header.restart_interval > 0, name
        for a, b in zip(base.components, jc.components, strict=True):
            np.testing.assert_array_equal(a.coefficients, b.coefficients, err_msg=name)


def test_grayscale_has_one_component(kit: SimpleNamespace) -> None:
    data = kit.encode(kit.smooth_image(21, 35, gray=True))
    jc = read_coefficients(data, PRESETS["dct24"].per_component)
    assert jc.header.num_components == 1 and jc.header.color_space == "Grayscale"
    assert jc.header.subsampling == "gray"
    assert not jc.has_chroma and len(jc.components) == 1
    assert jc.components[0].coefficients.shape == (16, 3, 5)


def test_440_from_cjpeg(kit: SimpleNamespace, cjpeg: Callable) -> None:
    data = cjpeg(["-sample", "1x2", "-quality", "80"], kit.smooth_image(37, 29))
    jc = read_coefficients(data)
    assert jc.header.subsampling == "4:4:0"
    assert [c.coefficients.shape[1:] for c in jc.components] == [(5, 4), (3, 4), (3, 4)]
    err = np.abs(kit.to_uint8(kit.ref_decode(jc)) - kit.pillow_rgb(data))
    assert err.mean() < 1.0 and err.max() <= MAX_ERR["4:4:0"]


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_channel_selection_equals_all_channel_read(kit: SimpleNamespace, preset: str, subsampling: str) -> None:
    data = kit.encode(kit.noise_image(37, 53, seed=1), subsampling=subsampling, progressive=True)
    full = read_coefficients(data)
    chans = PRESETS[preset].per_component
    sel = read_coefficients(data, chans)
    for f, s, want in zip(full.components, sel.components, chans, strict=True):
        assert s.channels == want
        assert s.coefficients.shape == (len(want), *f.coefficients.shape[1:])
        assert s.coefficients.flags.c_contiguous
        np.testing.assert_array_equal(s.coefficients, f.coefficients[list(want)])
        np.testing.assert_array_equal(s.quant_steps, f.quant_table[list(want)])


def test_channel_selection_any_order_and_fewer_components(kit: SimpleNamespace) -> None:
    data = kit.encode(kit.noise_image(16, 24, seed=2))
    full = read_coefficients(data)
    sel = read_coefficients(data, [(63, 0, 9, 9)])  # arbitrary order, repeats, luma only
    assert len(sel.components) == 1
    np.testing.assert_array_equal(sel.components[0].coefficients, full.components[0].coefficients[[63, 0, 9, 9]])
    empty = read_coefficients(data, [(), (0,), ()])
    assert empty.components[0].coefficients.shape == (0, 2, 3)
    np.testing.assert_array_equal(empty.components[1].coefficients[0], full.components[1].coefficients[0])
    with pytest.raises(ValueError, match=r"\[0, 64\)"):
        read_coefficients(data, [(0, 64)])


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4", "4:2:2", "gray"])
@pytest.mark.parametrize("progressive", [False, True])
def test_a_dc_only_read_equals_the_dc_of_a_full_read(kit: SimpleNamespace, subsampling: str, progressive: bool) -> None:
    # Asking for the DC alone decodes at libjpeg's 1/8 scale, where it stores no AC coefficients: the DCs
    # must still be those of the full read, for every layout (chroma blocks there are still stored whole).
    img = kit.noise_image(45, 61, seed=4)
    data = kit.encode(img[..., 0] if subsampling == "gray" else img, 80, subsampling, progressive=progressive)
    full = read_coefficients(data)
    dc = read_coefficients(data, [(0,)] * len(full.components))
    for f, d in zip(full.components, dc.components, strict=True):
        np.testing.assert_array_equal(d.coefficients[0], f.coefficients[0])
    luma_dc = read_coefficients(data, [(0,), (0, 1)])  # a chroma AC wanted: every block read whole again
    np.testing.assert_array_equal(luma_dc.components[0].coefficients[0], full.components[0].coefficients[0])


@pytest.mark.parametrize("progressive", [False, True])
def test_a_windowed_read_copies_the_window_and_zeroes_the_rest(kit: SimpleNamespace, progressive: bool) -> None:
    img = kit.noise_image(75, 93, seed=5)
    data = kit.encode(img, 85, "4:2:0", progressive=progressive)
    full = read_coefficients(data)
    windows = (BlockWindow(2, 3, 5, 6), BlockWindow(-4, 3, 100, 2), None)  # the second one clipped to the grid
    got = read_coefficients(data, ReadRequest(None, windows))
    assert got.components[0].window == windows[0] and got.components[2].window is None
    assert got.components[1].window == BlockWindow(0, 3, full.components[1].coefficients.shape[1], 2)
    for f, g in zip(full.components, got.components, strict=True):
        inside = np.zeros(f.coefficients.shape[1:], dtype=bool)
        w = g.window or BlockWindow(0, 0, *inside.shape)
        inside[w.top : w.top + w.height, w.left : w.left + w.width] = True
        np.testing.assert_array_equal(g.coefficients[:, inside], f.coefficients[:, inside])
        assert not g.coefficients[:, ~inside].any()
    # Through a header-dependent request as well, with a channel selection.
    chosen = read_coefficients(data, lambda h: ReadRequest([(0, 9)], (BlockWindow(0, 0, 1, 1),)))
    assert chosen.components[0].coefficients[:, 1:].sum() == 0
    np.testing.assert_array_equal(
        chosen.components[0].coefficients[:, 0, 0], full.components[0].coefficients[[0, 9], 0, 0]
    )


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0", "gray"])
@pytest.mark.parametrize("quality", [30, 75, 95, 100])
@pytest.mark.parametrize("progressive", [False, True])
def test_reference_decode_matches_pillow(
    kit: SimpleNamespace, subsampling: str, quality: int, progressive: bool
) -> None:
    gray = subsampling == "gray"
    for seed, (h, w) in enumerate([(37, 53), (32, 48)]):
        img = kit.smooth_image(h, w, seed=seed, gray=gray)
        data = kit.encode(img, quality, "4:4:4" if gray else subsampling, progressive=progressive)
        ours = kit.to_uint8(kit.ref_decode(read_coefficients(data)))
        err = np.abs(ours - kit.pillow_rgb(data))
        assert err.mean() < 1.0, (seed, err.mean())
        assert err.max() <= MAX_ERR[subsampling], (seed, err.max())


def test_reference_decode_full_range_noise(kit: SimpleNamespace) -> None:
    # Clipping-heavy content: both decoders clamp 8-bit samples at the same stages.
    for subsampling in SAMPLING:
        data = kit.encode(kit.noise_image(40, 24, seed=5), 90, subsampling)
        err = np.abs(kit.to_uint8(kit.ref_decode(read_coefficients(data))) - kit.pillow_rgb(data))
        assert err.mean() < 1.0 and err.max() <= MAX_ERR[subsampling], subsampling


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:0", "gray"])
def test_decode_rgb_matches_pillow(kit: SimpleNamespace, subsampling: str) -> None:
    gray = subsampling == "gray"
    data = kit.encode(kit.smooth_image(37, 53, gray=gray), 85, "4:4:4" if gray else subsampling)
    rgb = decode_rgb(data)
    assert rgb.dtype == np.uint8 and rgb.shape == (37, 53, 3)
    pil = kit.pillow_rgb(data)
    if gray:
        pil = np.repeat(pil[..., None], 3, axis=-1)
    # Same libjpeg-turbo algorithms (islow IDCT, fancy upsampling), possibly different library builds.
    assert np.abs(rgb - pil).max() <= 1


@pytest.mark.parametrize("scale_num", [1, 2, 4, 8, 16])
def test_decode_rgb_scaled_shape(kit: SimpleNamespace, scale_num: int) -> None:
    data = kit.encode(kit.smooth_image(37, 53))
    rgb = decode_rgb(data, scale_num)
    assert rgb.shape == (-(-37 * scale_num // 8), -(-53 * scale_num // 8), 3)
    with pytest.raises(ValueError, match="scale_num"):
        decode_rgb(data, 0)


def test_read_header_fields(kit: SimpleNamespace) -> None:
    data = kit.encode(kit.smooth_image(30, 20), progressive=True, restart_blocks=1, orientation=6)
    h = read_header(data)
    assert (h.width, h.height, h.num_components, h.color_space) == (20, 30, 3, "YCbCr")
    assert h.progressive and not h.arithmetic and h.precision == 8
    assert h.restart_interval == 1 and h.orientation == 6


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_accepts_bytes_bytearray_memoryview(kit: SimpleNamespace, wrap: type) -> None:
    data = kit.encode(kit.noise_image(16, 16))
    buf = wrap(data)
    jc = read_coefficients(buf)
    ref = read_coefficients(data)
    np.testing.assert_array_equal(jc.components[0].coefficients, ref.components[0].coefficients)
    np.testing.assert_array_equal(decode_rgb(buf), decode_rgb(data))
    assert read_header(buf) == ref.header
    assert bytes(buf) == data  # not mutated


def test_memoryview_slice_of_larger_buffer(kit: SimpleNamespace) -> None:
    data = kit.encode(kit.noise_image(16, 16))
    padded = bytearray(b"junk" + data + b"tail")
    view = memoryview(padded)[4 : 4 + len(data)]
    np.testing.assert_array_equal(
        read_coefficients(view).components[2].coefficients, read_coefficients(data).components[2].coefficients
    )


def _summary(jc: JpegCoefficients) -> list[np.ndarray]:
    return [c.coefficients for c in jc.components]


def test_threads_give_same_results_as_sequential(kit: SimpleNamespace) -> None:
    # The cffi calls release the GIL, so two readers run truly concurrently: each must own its state.
    blobs = [
        kit.encode(kit.noise_image(24 + 8 * (i % 5), 40 + 8 * (i % 3), seed=i), 50 + 5 * (i % 10), progressive=i % 2)
        for i in range(24)
    ]
    chans = PRESETS["dct24"].per_component
    sequential = [_summary(read_coefficients(b, chans)) for b in blobs]
    pixels = [decode_rgb(b) for b in blobs]
    with ThreadPoolExecutor(2) as pool:
        for _ in range(3):
            threaded = list(pool.map(lambda b: _summary(read_coefficients(b, chans)), blobs))
            threaded_px = list(pool.map(decode_rgb, blobs))
            for s, t in zip(sequential, threaded, strict=True):
                for a, b in zip(s, t, strict=True):
                    np.testing.assert_array_equal(a, b)
            for a, b in zip(pixels, threaded_px, strict=True):
                np.testing.assert_array_equal(a, b)


def test_limits_are_configurable(kit: SimpleNamespace) -> None:
    data = kit.encode(kit.noise_image(40, 30))
    assert read_header(data, Limits(max_pixels=1200, max_dimension=40)).width == 30


def test_permutation_of_all_64_channels_is_honoured(kit: SimpleNamespace) -> None:
    # Regression: a 64-entry channel list used to be copied in natural order whatever its order was, so a
    # permuted full read came back with its channels mislabelled.
    data = kit.encode(kit.noise_image(16, 24, seed=6), subsampling="4:4:4")
    full = read_coefficients(data)
    perm = tuple(8 * (c % 8) + c // 8 for c in range(64))  # transposed order
    sel = read_coefficients(data, [perm, tuple(reversed(range(64))), tuple(range(64))])
    np.testing.assert_array_equal(sel.components[0].coefficients, full.components[0].coefficients[list(perm)])
    np.testing.assert_array_equal(sel.components[1].coefficients, full.components[1].coefficients[::-1])
    np.testing.assert_array_equal(sel.components[2].coefficients, full.components[2].coefficients)
