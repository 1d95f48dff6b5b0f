import json
from pathlib import Path

import numpy as np
import pytest
import torch

from jpegdct.channels import get_preset
from models.checkpoint import load_model
from models.train.augment import random_boxes
from models.train.batches import DctBatches, RgbBatches, chroma_offset, make_batches
from models.train.data import scan_folder
from tests.support.training import TINY, train


def test_pixel_crops_train_and_keep_centre_crops_exact(tmp_path: Path, tiny_dataset: Path) -> None:
    out = train(tmp_path, tiny_dataset, "dct24_resnet", TINY + ', "grid": [8, 8]}', "--dct-pixel-crops")
    assert json.loads((out / "metrics.json").read_text())["args"]["dct_pixel_crops"] is True
    model, _ = load_model(out / "final.pt")
    files = list(scan_folder(tiny_dataset).files)
    exact = make_batches(model, files, tmp_path / "cache")
    pixel = make_batches(model, files, tmp_path / "cache", dct_pixel_crops=True)
    idx = np.arange(0, 24, 4)
    for a, b in zip(exact.get(idx, None), pixel.get(idx, None), strict=True):
        assert torch.equal(a, b)  # statistics and validation never see a re-transformed crop
    rng = np.random.default_rng(0)
    y, c, yq, cq = pixel.get(idx, rng)
    assert y.shape == (6, 16, 8, 8) and c.shape == (6, 8, 4, 4) and y.dtype == c.dtype == torch.int16
    _, _, exact_yq, exact_cq = exact.get(idx, None)
    assert torch.equal(yq, exact_yq) and torch.equal(cq, exact_cq)  # the photo's own quantization steps
    assert not torch.equal(y, pixel.get(idx, rng)[0])  # crops move between draws


@pytest.mark.parametrize("model", ["dct24_resnet", "rgb_resnet"])
def test_scale_augmentation_trains_both_kinds_and_keeps_centre_crops_exact(
    tmp_path: Path, tiny_dataset: Path, model: str
) -> None:
    kwargs = TINY + (', "grid": [8, 8]}' if model.startswith("dct") else ', "size": 64, "resize_short": 80}')
    out = train(tmp_path, tiny_dataset, model, kwargs, "--scale-aug", "0.35")
    assert json.loads((out / "metrics.json").read_text())["args"]["scale_aug"] == 0.35
    trained, _ = load_model(out / "final.pt")
    files = list(scan_folder(tiny_dataset).files)
    plain = make_batches(trained, files, tmp_path / "cache")
    scaled = make_batches(trained, files, tmp_path / "cache", scale=(0.35, 1.0))
    idx = np.arange(0, 24, 4)
    for a, b in zip(plain.get(idx, None), scaled.get(idx, None), strict=True):
        assert torch.equal(a, b)  # statistics and validation never see a resized crop
    rng = np.random.default_rng(0)
    first, again = scaled.get(idx, rng), scaled.get(idx, rng)
    for a, b in zip(first, plain.get(idx, None), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
    assert not torch.equal(first[0], again[0])  # boxes move and zoom between draws


def test_rgb_scale_augmentation_zooms_into_the_cached_square() -> None:
    # Left half black, right half white: a box's zoom and position show in the mean brightness.
    img = np.zeros((1, 80, 80, 3), np.uint8)
    img[:, :, 40:] = 255
    batches = RgbBatches({"image": img}, 64, scale=(0.1, 1.0))
    rng = np.random.default_rng(0)
    means = [float(batches.get(np.array([0]), rng)[0].float().mean()) for _ in range(60)]
    assert min(means) < 50 and max(means) > 205  # some boxes fall mostly in one half
    fixed = RgbBatches({"image": img}, 64)
    # A fixed 64 px crop of 80 always holds 24..40 columns of each half.
    assert all(90 < float(fixed.get(np.array([0]), rng)[0].float().mean()) < 165 for _ in range(60))


def _dct_arrays(n: int = 2, side: int = 40) -> dict[str, np.ndarray]:
    """Luma block (r, c) holds r*100 + c in every channel; chroma block (r, c) holds r*100 + c too."""
    r, c = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    cr, cc = np.meshgrid(np.arange(side // 2), np.arange(side // 2), indexing="ij")
    return {
        "luma": np.broadcast_to((r * 100 + c).astype(np.int16), (n, 16, side, side)).copy(),
        "chroma": np.broadcast_to((cr * 100 + cc).astype(np.int16), (n, 8, side // 2, side // 2)).copy(),
        "luma_q": np.ones((n, 16), np.float32),
        "chroma_q": np.ones((n, 8), np.float32),
    }


def test_chroma_offset_is_exact_for_even_and_adjacent_for_odd() -> None:
    rng = np.random.default_rng(0)
    assert [chroma_offset(o, rng) for o in (0, 2, 8)] == [0, 1, 4]
    assert {chroma_offset(3, rng) for _ in range(50)} == {1, 2}


@pytest.mark.parametrize("step", [1, 2])
def test_dct_random_crops_cover_the_margin_at_the_block_step(step: int) -> None:
    preset = get_preset("dct24")
    batches = DctBatches(_dct_arrays(), (preset.luma, preset.chroma), (32, 32), crop_step=step)
    rng = np.random.default_rng(0)
    tops = set()
    for _ in range(200):
        luma, chroma, _, _ = batches.get(np.array([0]), rng)
        assert luma.shape == (1, 16, 32, 32) and chroma.shape == (1, 8, 16, 16)
        corner = int(luma[0, 0, 0, 0])  # DC untouched by a flip's sign changes
        top = corner // 100
        tops.add(top)
        ctop = int(chroma[0, 0, 0, 0]) // 100
        assert ctop in ({top // 2} if top % 2 == 0 else {top // 2, top // 2 + 1})
    assert tops == set(range(0, 9, step))


def test_dct_centre_crop_is_aligned_and_deterministic() -> None:
    preset = get_preset("dct24")
    batches = DctBatches(_dct_arrays(), (preset.luma, preset.chroma), (32, 32))
    luma, chroma, _, _ = batches.get(np.array([0, 1]), None)
    assert int(luma[0, 0, 0, 0]) == 404 and int(chroma[0, 0, 0, 0]) == 202
    assert torch.equal(luma[0], luma[1])


def test_relative_positions_pick_the_same_relative_crop() -> None:
    preset = get_preset("dct24")
    batches = DctBatches(_dct_arrays(), (preset.luma, preset.chroma), (32, 32))
    corners = {}
    for pos in ((0.0, 0.0), (1.0, 1.0), (0.5, 0.25)):
        luma, chroma, _, _ = batches.get(np.array([0]), None, np.array([[*pos, 0.0]]))
        corners[pos] = (int(luma[0, 0, 0, 0]) // 100, int(luma[0, 0, 0, 0]) % 100)
    # The test arrays encode (row, column) of each block as 100 * row + column; the margin is 8 blocks.
    assert corners == {(0.0, 0.0): (0, 0), (1.0, 1.0): (8, 8), (0.5, 0.25): (4, 2)}


def test_rgb_resized_at_given_boxes_cuts_the_same_relative_box_at_every_size() -> None:
    # Left half black, right half white, at two sizes: a DRNet's paths get one box draw between them.
    small, big = np.zeros((1, 40, 40, 3), np.uint8), np.zeros((1, 80, 80, 3), np.uint8)
    small[:, :, 20:], big[:, :, 40:] = 255, 255
    boxes = np.array([[0.0, 0.0, 1.0, 0.5], [0.0, 0.5, 1.0, 0.5]])  # the left half, then the right half
    flips = np.array([False, True])
    for img, size in ((small, 32), (big, 64)):
        (out,) = RgbBatches({"image": np.repeat(img, 2, axis=0)}, size).resized(np.array([0, 1]), boxes, flips)
        assert out.shape == (2, size, size, 3) and out.dtype == torch.uint8
        assert float(out[0].float().mean()) < 5 and float(out[1].float().mean()) > 250


def test_dct_path_resized_crops_show_the_same_relative_box_at_every_resolution(
    tmp_path: Path, tiny_dataset: Path
) -> None:
    from models.registry import create_model
    from models.train.batches import path_batches

    model = create_model("dct_drnet", num_classes=3, widths=(8, 8, 16, 16), resolutions=(64, 32), source_short=64)
    files = list(scan_folder(tiny_dataset).files)
    big, small = path_batches(model.contract, files, tmp_path / "cache", pixel_crops=True)
    rng = np.random.default_rng(0)
    idx = np.arange(0, 24, 3)
    boxes, flips = random_boxes(rng, len(idx), (0.35, 1.0)), rng.random(len(idx)) < 0.5
    a, b = big.resized(idx, boxes, flips), small.resized(idx, boxes, flips)
    assert a[0].shape == (8, 16, 8, 8) and b[0].shape == (8, 16, 4, 4)  # dct24 luma on 64 and 32 px grids
    # The DC of a block is 8x its mean level: 2x2 blocks of the big crop average to one block of the small one.
    dc_big = (a[0][:, 0].float() * a[2][:, :1, None]).reshape(8, 4, 2, 4, 2).mean(dim=(2, 4))
    dc_small = b[0][:, 0].float() * b[2][:, :1, None]
    assert torch.corrcoef(torch.stack([dc_big.flatten(), dc_small.flatten()]))[0, 1] > 0.95
    assert (dc_big - dc_small).abs().mean() < 0.1 * dc_small.abs().mean() + 8
    other = small.resized(idx, random_boxes(rng, len(idx), (0.35, 1.0)), flips)
    assert not torch.equal(other[0], b[0])  # another draw, another crop


def test_dct_drnet_trains_on_random_resized_crops(tmp_path: Path, tiny_dataset: Path) -> None:
    kw = TINY + ', "resolutions": [64, 32], "source_short": 64, "thumbnail": 8}'
    out = train(tmp_path, tiny_dataset, "dct_drnet", kw, "--scale-aug", "0.35", "--predictor-epochs", "1")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["args"]["scale_aug"] == 0.35 and metrics["epochs"][0]["epoch"] == 1
