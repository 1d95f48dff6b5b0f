import numpy as np
import pytest
import torch
from PIL import Image

from jpegdct.blocks import hflip
from models.train.augment import (
    blocks_to_pixels,
    pixel_box,
    pixels_to_blocks,
    random_boxes,
    resize_box,
    resized_crops,
    shifted_crops,
)

ALL = tuple(range(64))


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth 8-bit test image (gradients + a few blobs), so rounding stays far from the clip limits."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 60 + 0.3 * y + 0.2 * x
    for _ in range(6):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(4, 20)
        img += rng.uniform(-40, 40) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    return np.clip(np.round(img), 0, 255)


def _encode(img: np.ndarray, q: float) -> np.ndarray:
    """Quantized coefficients ``[64, H/8, W/8]`` of an 8-bit image, one step ``q`` for every channel."""
    c = pixels_to_blocks(torch.from_numpy(img - 128).float()[None])[0]
    return (c / q).round().to(torch.int16).numpy()


def test_forward_and_inverse_dct_are_inverse_and_orthonormal() -> None:
    x = torch.randn(2, 24, 40)
    c = pixels_to_blocks(x)
    assert c.shape == (2, 64, 3, 5)
    torch.testing.assert_close(blocks_to_pixels(c), x, atol=1e-4, rtol=0)
    const = pixels_to_blocks(torch.full((1, 8, 8), 3.0))
    assert const[0, 0].item() == pytest.approx(24.0)  # DC of an orthonormal 8x8 DCT = 8 x mean
    assert const[0, 1:].abs().max().item() < 1e-5


def test_whole_block_offsets_give_the_block_crop() -> None:
    coefs = _encode(_photo(96, 112), q=4.0)[None]  # 12x14 blocks
    steps = np.full((1, 64), 4.0, np.float32)
    for top, left in [(0, 0), (8, 16), (32, 48)]:
        out = shifted_crops(coefs, steps, np.array([[top, left]]), np.array([False]), (8, 8), ALL)
        exact = coefs[:, :, top // 8 : top // 8 + 8, left // 8 : left // 8 + 8]
        assert (out != exact).mean() < 0.01 and np.abs(out.astype(int) - exact).max() <= 1


def _texture(h: int, w: int) -> np.ndarray:
    """Stripes + noise: a one-pixel shift changes most coefficients."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    noise = np.random.default_rng(1).normal(0, 8, (h, w))
    stripes = 45 * np.sin(2 * np.pi * x / 7 + y / 5) + 30 * np.cos(2 * np.pi * y / 6)
    return np.clip(np.round(128 + stripes + noise), 0, 255)


@pytest.mark.parametrize("offset", [(3, 5), (7, 1), (12, 29)])
def test_sub_block_offsets_match_the_dct_of_the_shifted_pixels(offset: tuple[int, int]) -> None:
    img = _texture(96, 112)
    steps = np.full((1, 64), 2.0, np.float32)
    out = shifted_crops(_encode(img, 2.0)[None], steps, np.array([offset]), np.array([False]), (8, 8), ALL)

    def error(dy: int, dx: int) -> np.ndarray:
        top, left = offset[0] + dy, offset[1] + dx
        return np.abs(out.astype(int) - _encode(img[top : top + 64, left : left + 64], 2.0)[None])

    assert error(0, 0).mean() < 0.5 and error(0, 0).max() <= 2  # only the requantization's rounding
    for dy, dx in [(1, 0), (-1, 0), (0, 1), (0, -1)]:  # one pixel off in any direction is far worse
        assert error(dy, dx).mean() > 3


def test_flip_mirrors_the_crop_and_keeps_the_selected_channels() -> None:
    coefs = _encode(_photo(80, 80, seed=2), q=3.0)[None].repeat(2, axis=0)
    steps = np.full((2, 64), 3.0, np.float32)
    wanted = (0, 1, 8, 9, 2, 17)
    out = shifted_crops(coefs, steps, np.array([[5, 6], [5, 6]]), np.array([False, True]), (8, 8), wanted)
    assert out.shape == (2, 6, 8, 8) and out.dtype == np.int16
    mirrored = hflip(out[0], wanted)
    assert (out[1] != mirrored).mean() < 0.01 and np.abs(out[1].astype(int) - mirrored).max() <= 1


def test_offsets_outside_the_margin_are_refused() -> None:
    coefs = np.zeros((1, 64, 10, 10), np.int16)
    steps = np.ones((1, 64), np.float32)
    for bad in ([[17, 0]], [[0, -1]]):
        with pytest.raises(ValueError, match="offsets"):
            shifted_crops(coefs, steps, np.array(bad), np.array([False]), (8, 8), ALL)
    shifted_crops(coefs, steps, np.array([[16, 16]]), np.array([False]), (8, 8), ALL)


def test_random_boxes_stay_in_the_square_with_the_drawn_area_and_aspect() -> None:
    boxes = random_boxes(np.random.default_rng(0), 4000, (0.35, 1.0))
    top, left, h, w = boxes.T
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 1 + 1e-12).all() and (left + w <= 1 + 1e-12).all()
    area, aspect = h * w, w / h
    unclipped = (h < 1) & (w < 1)
    assert area[unclipped].min() >= 0.35 - 1e-9 and area.max() <= 1 + 1e-9
    assert aspect[unclipped].min() >= 3 / 4 - 1e-9 and aspect[unclipped].max() <= 4 / 3 + 1e-9
    assert 0.6 < area.mean() < 0.7  # uniform over [0.35, 1], a little less where a side is clipped
    assert abs(np.log(aspect).mean()) < 0.02  # wider and taller equally often


def test_pixel_box_rounds_inside_the_image_and_keeps_a_pixel() -> None:
    assert pixel_box(np.array([0.0, 0.0, 1.0, 1.0]), 40, 30) == (0, 0, 40, 30)
    assert pixel_box(np.array([0.5, 0.25, 0.5, 0.5]), 40, 40) == (20, 10, 20, 20)
    assert pixel_box(np.array([0.99, 0.99, 0.001, 0.5]), 10, 10) == (9, 5, 1, 5)


def test_resize_box_matches_pillow_bilinear_resize() -> None:
    img = _texture(120, 100)  # stripes alias unless the filter widens with the shrink
    box = np.array([0.1, 0.2, 0.6, 0.7])  # 72 x 70 pixels from (12, 20)
    for size in ((48, 40), (24, 20), (100, 90)):
        out = resize_box(torch.from_numpy(img)[None], box, size)[0].numpy()
        crop = Image.fromarray(img.astype(np.uint8)).crop((20, 12, 90, 84))
        ref = np.asarray(crop.resize(size[::-1], Image.Resampling.BILINEAR), np.float64)
        assert np.abs(out - ref).max() <= 1  # the same antialiased triangle filter, down and up


def test_a_whole_square_box_at_the_same_size_gives_the_photo_back() -> None:
    coefs = _encode(_photo(64, 64), q=4.0)[None]
    steps = np.full((1, 64), 4.0, np.float32)
    out = resized_crops(coefs, steps, np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([False]), (8, 8), ALL)
    assert (out != coefs).mean() < 0.01 and np.abs(out.astype(int) - coefs).max() <= 1


@pytest.mark.parametrize("box", [(0.0, 0.0, 0.5, 0.5), (0.2, 0.1, 0.7, 0.6), (0.05, 0.3, 0.9, 0.65)])
def test_resized_crops_are_the_dct_of_the_resized_pixels(box: tuple[float, float, float, float]) -> None:
    """Against a pixel reference: decode, cut the box, resize (Pillow's bilinear), forward DCT, quantize."""
    img = _photo(128, 128, seed=4)
    q = 2.0
    steps = np.full((1, 64), q, np.float32)
    coefs = _encode(img, q)[None]
    out = resized_crops(coefs, steps, np.array([box]), np.array([False]), (8, 8), ALL)
    decoded = np.clip(np.round(blocks_to_pixels(torch.from_numpy(coefs).float() * q)[0].numpy() + 128), 0, 255)
    top, left, h, w = pixel_box(np.array(box), 128, 128)
    crop = Image.fromarray(decoded.astype(np.uint8)).crop((left, top, left + w, top + h))
    ref = _encode(np.asarray(crop.resize((64, 64), Image.Resampling.BILINEAR), np.float64), q)[None]
    err = np.abs(out.astype(int) - ref)
    assert err.mean() < 0.1 and err.max() <= 2  # Pillow's 8-bit rounding against ours, through the DCT


def test_resized_crops_flip_and_select_channels() -> None:
    coefs = _encode(_photo(80, 80, seed=5), q=3.0)[None].repeat(2, axis=0)
    steps = np.full((2, 64), 3.0, np.float32)
    wanted = (0, 1, 8, 9, 2, 17)
    boxes = np.array([[0.1, 0.2, 0.8, 0.7]] * 2)
    out = resized_crops(coefs, steps, boxes, np.array([False, True]), (6, 6), wanted)
    assert out.shape == (2, 6, 6, 6) and out.dtype == np.int16
    mirrored = hflip(out[0], wanted)
    assert (out[1] != mirrored).mean() < 0.01 and np.abs(out[1].astype(int) - mirrored).max() <= 1
