"""Any-factor DCT-domain resampling against pixel references: decode, resize with the same filter, DCT."""

import numpy as np
import pytest

from jpegdct.blocks import dct_k, dct_matrix
from jpegdct.resample import (
    banded_axis,
    low_channels,
    reduced_size,
    resample_plane,
    resample_planes,
    resample_weights,
)

ALL = tuple(range(64))


def to_blocks(pixels: np.ndarray) -> np.ndarray:
    """Pixels ``[8H, 8W]`` -> ``[64, H, W]`` orthonormal block DCT (JPEG's, unquantized)."""
    d = dct_matrix()
    h, w = pixels.shape[0] // 8, pixels.shape[1] // 8
    x = pixels.reshape(h, 8, w, 8)
    c = np.einsum("vm,hmwn,un->vuhw", d, x, d)
    return c.reshape(64, h, w)


def dense_axis(n_in_blocks: int, k: int, scale: float, start: float, n_out_blocks: int) -> np.ndarray:
    """The per-axis map written as the plain product (forward DCT . resample . k-point inverse DCT):
    ``[8 * n_out_blocks, k * n_in_blocks]``, output ``8*b + f`` from input ``k*a + j``."""
    to_samples = np.kron(np.eye(n_in_blocks), np.sqrt(k / 8) * dct_k(k).T)
    r = resample_weights(k * n_in_blocks, 8 * n_out_blocks, scale * 8 / k, start)
    return np.kron(np.eye(n_out_blocks), dct_matrix()) @ r @ to_samples


def band_as_dense(band: tuple[np.ndarray, np.ndarray], k: int, n_in_blocks: int) -> np.ndarray:
    first, weights = band
    out = np.zeros((8 * len(first), k * n_in_blocks))
    for b, a in enumerate(first):
        out[8 * b : 8 * b + 8, k * a : k * a + weights.shape[2]] = weights[b]
    return out


def pixel_reference(
    pixels: np.ndarray, scale: tuple[float, float], start: tuple[float, float], grid: tuple[int, int]
) -> np.ndarray:
    rv = resample_weights(pixels.shape[0], 8 * grid[0], scale[0], start[0])
    rh = resample_weights(pixels.shape[1], 8 * grid[1], scale[1], start[1])
    return to_blocks(rv @ pixels @ rh.T)


def test_dct_k_is_orthonormal_with_a_flat_first_row() -> None:
    for k in range(1, 9):
        assert np.allclose(dct_k(k) @ dct_k(k).T, np.eye(k))
        assert np.allclose(dct_k(k)[0], 1 / np.sqrt(k))  # the DC is the block mean times sqrt(k)


@pytest.mark.parametrize(
    ("n_in", "n_out", "scale", "start"), [(40, 32, 0.8, 0.0), (13, 30, 2.3, -1.5), (7, 7, 1.0, 0.0), (50, 9, 0.17, 2.2)]
)
def test_resample_weights_are_averages(n_in: int, n_out: int, scale: float, start: float) -> None:
    w = resample_weights(n_in, n_out, scale, start)
    assert (w >= 0).all() and np.allclose(w.sum(1), 1)
    assert np.allclose(resample_weights(9, 9, 1.0, 0.0), np.eye(9))


@pytest.mark.parametrize(
    ("shape", "scale", "start", "grid"),
    [
        ((40, 48), (0.8, 0.8), (0.0, 28.0), (4, 4)),  # downscale, centre-ish window
        ((24, 40), (1.7, 1.7), (3.5, 9.25), (4, 5)),  # upscale, fractional offsets
        ((56, 24), (0.55, 1.3), (1.0, -2.0), (3, 4)),  # different factors per axis, window past the edge
        ((8, 8), (3.0, 3.0), (0.0, 0.0), (3, 3)),  # one block grows to nine
    ],
)
def test_full_reads_match_the_pixel_reference_at_any_factor(
    shape: tuple[int, int], scale: tuple[float, float], start: tuple[float, float], grid: tuple[int, int]
) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.uniform(-128, 127, shape)
    coefs = to_blocks(pixels)
    got = resample_plane(coefs, (8, 8), scale, start, grid, ALL)
    np.testing.assert_allclose(got, pixel_reference(pixels, scale, start, grid), atol=2e-3)


def test_a_dc_only_read_is_exact_for_a_photo_flat_in_every_block() -> None:
    # A block's DC is its mean: from the DC alone the 8x reduction is exact, and so is any resize after it.
    rng = np.random.default_rng(1)
    means = rng.uniform(-100, 100, (30, 20))
    pixels = np.kron(means, np.ones((8, 8)))
    coefs = to_blocks(pixels)[:1]
    scale, start, grid = (0.11, 0.11), (1.3, 0.7), (3, 2)
    got = resample_plane(coefs, (1, 1), scale, start, grid, ALL)
    np.testing.assert_allclose(got, pixel_reference(pixels, scale, start, grid), atol=2e-3)


def test_reduced_reads_stay_close_to_the_full_resolution_reference() -> None:
    # Natural-looking content (smooth + a little noise): the low k x k coefficients carry what a 4x
    # reduction keeps; the rest is what libjpeg's scaled decode also drops.
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:160, 0:192]
    pixels = 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 4, (160, 192))
    coefs = to_blocks(pixels)
    scale, start, grid = (0.26, 0.26), (2.0, 5.0), (4, 4)
    k = reduced_size(scale[0])
    assert k == 3
    got = resample_plane(coefs[list(low_channels(k, k))], (k, k), scale, start, grid, ALL)
    ref = pixel_reference(pixels, scale, start, grid)
    assert np.abs(got - ref).max() < 0.05 * np.abs(ref).max()
    assert np.abs(got[0] - ref[0]).mean() < 1.0  # the DC (block means) within a grey level on average


def test_only_the_wanted_channels_come_back_in_their_order() -> None:
    rng = np.random.default_rng(3)
    coefs = to_blocks(rng.uniform(-128, 127, (32, 32)))
    full = resample_plane(coefs, (8, 8), (0.75, 0.75), (0.0, 0.0), (3, 3), ALL)
    wanted = (9, 0, 17, 2)
    assert np.allclose(resample_plane(coefs, (8, 8), (0.75, 0.75), (0.0, 0.0), (3, 3), wanted), full[list(wanted)])


def test_reduced_size_and_low_channels() -> None:
    assert [reduced_size(s) for s in (1 / 8, 0.2, 0.5, 0.51, 1.0, 2.0)] == [1, 2, 4, 5, 8, 8]
    assert low_channels(2, 2) == (0, 1, 8, 9)
    assert np.allclose(dense_axis(4, 8, 1.0, 0.0, 4), np.eye(32))


@pytest.mark.parametrize(
    ("n_in", "k", "scale", "start", "n_out"),
    [
        (4, 8, 1.0, 0.0, 4),  # identity
        (47, 7, 0.853, 3.9, 32),  # a 500x375 photo to a 320 short side
        (504, 1, 0.1058, 61.3, 32),  # 12 MP, DC only
        (20, 8, 2.0, 17.0, 32),  # a 160 px photo doubled
        (13, 8, 2.3, -11.5, 32),  # upscaled, window far past both edges
        (9, 3, 0.3, -0.7, 2),
        (1, 8, 3.0, 0.0, 3),  # one block grows to three
    ],
)
def test_the_band_is_the_dense_product(n_in: int, k: int, scale: float, start: float, n_out: int) -> None:
    band = banded_axis(n_in, k, scale, start, n_out)
    np.testing.assert_allclose(band_as_dense(band, k, n_in), dense_axis(n_in, k, scale, start, n_out), atol=1e-5)
    assert not band[1].flags.writeable and band[0].min() >= 0 and band[0].max() + band[1].shape[2] // k <= n_in


@pytest.mark.parametrize(
    ("k", "shape", "scale", "start", "grid"),
    [
        ((7, 7), (47, 63), (0.853, 0.853), (11.9, 67.4), (32, 32)),  # a 500x375 photo, the served case
        ((3, 5), (30, 22), (0.3, 0.6), (-1.5, 4.0), (3, 5)),  # a different k per axis, window past the edge
        ((8, 8), (6, 9), (2.2, 1.4), (3.0, -6.0), (7, 8)),  # upscaled
    ],
)
def test_the_kernel_is_the_dense_product_for_several_planes_with_steps(
    k: tuple[int, int],
    shape: tuple[int, int],
    scale: tuple[float, float],
    start: tuple[float, float],
    grid: tuple[int, int],
) -> None:
    # jpegdct/_resample.c against the plain product Dv . Z . Dh^T per plane (Z block-major), on quantized
    # planes with their own steps, two leading dimensions and the wanted channels in no particular order.
    (kv, kh), (h, w) = k, shape
    rng = np.random.default_rng(4)
    coefs = rng.integers(-60, 60, (2, 3, kv * kh, h, w)).astype(np.int16)
    steps = rng.uniform(1, 9, (2, 3, kv * kh)).astype(np.float32)
    wanted = tuple(int(c) for c in rng.permutation(64)[:13])
    got = resample_plane(coefs, k, scale, start, grid, wanted, steps)
    assert got.shape == (2, 3, len(wanted), *grid) and got.dtype == np.float32
    dv, dh = (dense_axis(n, kk, s, o, g) for n, kk, s, o, g in zip(shape, k, scale, start, grid, strict=True))
    x = coefs * steps[..., None, None]
    z = x.reshape(2, 3, kv, kh, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(2, 3, h * kv, w * kh)
    y = (dv @ z @ dh.T).reshape(2, 3, grid[0], 8, grid[1], 8).transpose(0, 1, 3, 5, 2, 4).reshape(2, 3, 64, *grid)
    np.testing.assert_allclose(got, y[:, :, list(wanted)], rtol=1e-4, atol=1e-2)


def test_separate_planes_and_cropped_views_resample_as_one_stacked_copy() -> None:
    # What inputs.dct hands the kernel: Cb and Cr as separate arrays, each a crop (trimmed edge MCUs) of what
    # the reader returned, and a flipped view (negative strides), which must be copied, not misread.
    rng = np.random.default_rng(5)
    full = rng.integers(-60, 60, (2, 49, 25, 33)).astype(np.int16)
    steps = rng.uniform(1, 9, (2, 49)).astype(np.float32)
    crops = [full[0, :, :24, :32], full[1, :, :24, :32]]
    assert not crops[0].flags.c_contiguous
    args = ((7, 7), (0.6, 0.6), (1.2, 2.3), (12, 16), (0, 1, 8, 9, 19, 63))
    stacked = resample_plane(np.ascontiguousarray(full[:, :, :24, :32]), *args, steps)
    np.testing.assert_array_equal(resample_planes(crops, *args, steps), stacked)
    flipped = [c[:, ::-1].copy()[:, ::-1] for c in crops]  # the same values, through negative-stride views
    assert flipped[0].strides[1] < 0
    np.testing.assert_array_equal(resample_planes(flipped, *args, steps), stacked)


def test_int16_output_is_the_float_output_rounded_half_to_even_and_saturated() -> None:
    rng = np.random.default_rng(6)
    # Steps up to 200 push some outputs past int16's range (saturated).
    big = [rng.integers(-2000, 2000, (49, 20, 26)).astype(np.int16) for _ in range(2)]
    big_steps = rng.uniform(0.5, 200, (2, 49)).astype(np.float32)
    # A full read at scale 1 returns the coefficients times their steps: steps of 0.5 make exact ties.
    ties = [rng.integers(-50, 50, (64, 4, 5)).astype(np.int16)]
    cases = (
        (big, big_steps, ((7, 7), (0.9, 0.9), (0.5, 0.0), (2, 3), (0, 1, 8, 9, 19, 63)), lambda f: np.abs(f) > 32767),
        (ties, np.full((1, 64), 0.5, np.float32), ((8, 8), (1.0, 1.0), (0.0, 0.0), (4, 5), tuple(range(64))),
         lambda f: f % 1 == 0.5),
    )  # fmt: skip
    for planes, steps, args, tested in cases:
        flt = resample_planes(planes, *args, steps)
        got = resample_planes(planes, *args, steps, as_int16=True)
        assert got.dtype == np.int16 and got.shape == flt.shape
        assert tested(flt).any()  # the case holds what it is there to test
        np.testing.assert_array_equal(got, np.clip(np.rint(flt), -32768, 32767).astype(np.int16))


def test_planes_of_different_shapes_steps_of_the_wrong_shape_and_repeated_channels_are_refused() -> None:
    a, b = np.zeros((4, 8, 8), np.int16), np.zeros((4, 8, 9), np.int16)
    steps = np.ones((2, 4), np.float32)
    args = ((2, 2), (0.5, 0.5), (0.0, 0.0), (2, 2))
    with pytest.raises(ValueError, match="planes must all be"):
        resample_planes([a, b], *args, (0, 1), steps)
    with pytest.raises(ValueError, match="steps must be"):
        resample_planes([a, a], *args, (0, 1), steps[:1])
    with pytest.raises(ValueError, match="distinct"):
        resample_planes([a, a], *args, (1, 1), steps)
