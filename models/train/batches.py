"""Training and evaluation batches from the cached model inputs, with augmentation exact in the DCT domain.

DCT: block-grid random crops and horizontal flips, or crops at any pixel offset (``--dct-pixel-crops``,
re-transformed by ``models.train.augment``), or random-resized crops (``--scale-aug``, re-transformed the same
way); RGB: the same geometry on pixels. Centre crops (``rng`` None) are exactly what the server computes.
"""

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inputs.contract import InputContract
from jpegdct.blocks import hflip
from models.train.augment import random_boxes, resize_box, resized_crops, shifted_crops
from models.train.data import dct_arrays, rgb_arrays

DCT_MARGIN = 8  # blocks of random-crop margin around a 32x32 served grid (256 px of a 320 px short side)


def dct_margin(grid: tuple[int, int]) -> int:
    """Random-crop margin in blocks for a served grid: the same quarter of the side as ``DCT_MARGIN``."""
    return DCT_MARGIN * grid[0] // 32


def chroma_offset(luma_offset: int, rng: np.random.Generator | None) -> int:
    """4:2:0 chroma offset for a luma offset: exact when even, else the nearer one on a random side (the
    lower one without ``rng``)."""
    if luma_offset % 2 == 0 or rng is None:
        return luma_offset // 2
    return (luma_offset + int(rng.integers(0, 2))) // 2


def relative_offsets(pos: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """``pos`` rows (top, left, flip) in [0, 1] -> integer offsets in [0, span] and flip flags: the same
    relative crop at every resolution of a DRNet."""
    return np.rint(pos[:, :2] * span).astype(np.int64), pos[:, 2] > 0.5


class DctBatches:
    """Block-grid random crops + flips of cached DCT inputs (centre crop when ``rng`` is None).

    ``crop_step`` is the luma-block granularity of the random offsets. With 1, odd offsets put the 4:2:0
    chroma half a chroma block (8 px) off the luma; chroma then takes the nearer block on a random side.
    Luma crops are exact either way; 2 keeps chroma exact too but gives 4x fewer distinct crops.
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        channels: tuple[tuple[int, ...], tuple[int, ...]],
        grid: tuple[int, int],
        crop_step: int = 1,
    ):
        if crop_step not in (1, 2):
            raise ValueError(f"crop_step must be 1 or 2, got {crop_step}")
        self.a = arrays
        self.luma_ch, self.chroma_ch = channels
        self.grid = grid
        self.crop_step = crop_step

    def get(
        self, idx: np.ndarray, rng: np.random.Generator | None, pos: np.ndarray | None = None
    ) -> tuple[torch.Tensor, ...]:
        """``pos``: optional ``[n, 3]`` relative (top, left, flip), as ``RgbBatches.get``."""
        gh, gw = self.grid
        luma = np.asarray(self.a["luma"][idx])
        chroma = np.asarray(self.a["chroma"][idx])
        n = len(idx)
        ys = np.empty((n, luma.shape[1], gh, gw), np.int16)
        cs = np.empty((n, chroma.shape[1], gh // 2, gw // 2), np.int16)
        margin = luma.shape[2] - gh
        offsets, flips = relative_offsets(pos, margin) if pos is not None else (None, None)
        for i in range(n):
            flip = False
            if offsets is not None:
                top, left = offsets[i]
                ctop, cleft = chroma_offset(int(top), rng), chroma_offset(int(left), rng)
                flip = bool(flips[i])
            elif rng is None:
                top = left = margin // 4 * 2  # the centre, rounded to keep chroma aligned
                ctop = cleft = top // 2
            else:
                top, left = self.crop_step * rng.integers(0, margin // self.crop_step + 1, size=2)
                ctop, cleft = chroma_offset(top, rng), chroma_offset(left, rng)
                flip = rng.random() < 0.5
            y = luma[i, :, top : top + gh, left : left + gw]
            c = chroma[i, :, ctop : ctop + gh // 2, cleft : cleft + gw // 2]
            if flip:
                y, c = hflip(y, self.luma_ch), hflip(c, self.chroma_ch * 2)
            ys[i], cs[i] = y, c
        return (
            torch.from_numpy(ys),
            torch.from_numpy(cs),
            torch.from_numpy(np.asarray(self.a["luma_q"][idx])),
            torch.from_numpy(np.asarray(self.a["chroma_q"][idx])),
        )


class PixelCropDctBatches:
    """Training crops at any pixel offset, as the RGB recipe's, from a cache of all 64 coefficients per
    component: each crop is re-transformed and requantized (``models.train.augment``), like a re-encode of the
    shifted photo. Centre crops (``rng`` None: input statistics, validation) come exactly from ``exact``.

    At an odd luma pixel offset, 4:2:0 chroma takes the nearer chroma pixel on a random side.

    With ``scale`` (an area range, e.g. (0.35, 1)) training crops are random-resized crops of the cached
    square instead (``models.train.augment.resized_crops``); chroma gets the same relative box.
    """

    def __init__(self, exact: DctBatches, full: dict[str, np.ndarray], scale: tuple[float, float] | None = None):
        self.exact = exact
        self.full = full
        self.scale = scale

    def get(
        self, idx: np.ndarray, rng: np.random.Generator | None, pos: np.ndarray | None = None
    ) -> tuple[torch.Tensor, ...]:
        """``pos``: optional ``[n, 3]`` relative (top, left, flip), as ``RgbBatches.get``."""
        if rng is None and pos is None:
            return self.exact.get(idx, None)
        n = len(idx)
        if self.scale is not None and pos is None:
            return self.resized(idx, random_boxes(rng, n, self.scale), rng.random(n) < 0.5)
        gh, gw = self.exact.grid
        luma, chroma, luma_q, chroma_q = self._full(idx)
        span = 8 * (luma.shape[2] - gh)
        if pos is not None:
            offsets, flips = relative_offsets(pos, span)
        else:
            offsets, flips = rng.integers(0, span + 1, size=(n, 2)), rng.random(n) < 0.5
        coffsets = np.array([[chroma_offset(int(o), rng) for o in row] for row in offsets])
        return self._crops(shifted_crops, luma, chroma, luma_q, chroma_q, (offsets, coffsets), flips)

    def resized(self, idx: np.ndarray, boxes: np.ndarray, flips: np.ndarray) -> tuple[torch.Tensor, ...]:
        """Random-resized crops at given relative ``boxes`` (``random_boxes``) and ``flips``: ``get`` draws
        them per batch; a DRNet draws them once and every resolution's batches cut the same relative box."""
        luma, chroma, luma_q, chroma_q = self._full(idx)
        return self._crops(resized_crops, luma, chroma, luma_q, chroma_q, (boxes, boxes), flips)

    def _full(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The photos' cached 64-channel luma and chroma and their quantization steps."""
        f = self.full
        return (
            np.asarray(f["luma"][idx]),
            np.asarray(f["chroma"][idx]),
            np.asarray(f["luma_q"][idx]),
            np.asarray(f["chroma_q"][idx]),
        )

    def _crops(
        self,
        crop: Callable[..., np.ndarray],
        luma: np.ndarray,
        chroma: np.ndarray,
        luma_q: np.ndarray,
        chroma_q: np.ndarray,
        where: tuple[np.ndarray, np.ndarray],
        flips: np.ndarray,
    ) -> tuple[torch.Tensor, ...]:
        """Luma and chroma through one ``models.train.augment`` crop (``shifted_crops`` or ``resized_crops``),
        ``where`` its per-photo placement for luma and for chroma (offsets or boxes)."""
        gh, gw = self.exact.grid
        luma_ch, chroma_ch = self.exact.luma_ch, self.exact.chroma_ch
        n = len(luma)
        y = crop(luma, luma_q, where[0], flips, (gh, gw), luma_ch)
        # Cb and Cr are two planes of 64 channels each: crop them as 2n single-component images.
        c = crop(
            chroma.reshape(2 * n, 64, *chroma.shape[2:]),
            chroma_q.reshape(2 * n, 64),
            np.repeat(where[1], 2, axis=0),
            np.repeat(flips, 2),
            (gh // 2, gw // 2),
            chroma_ch,
        ).reshape(n, 2 * len(chroma_ch), gh // 2, gw // 2)
        return self._pack(y, c, luma_q, chroma_q)

    def _pack(self, y: np.ndarray, c: np.ndarray, luma_q: np.ndarray, chroma_q: np.ndarray) -> tuple[torch.Tensor, ...]:
        luma_ch, chroma_ch = self.exact.luma_ch, self.exact.chroma_ch
        cq = np.concatenate([chroma_q[:, list(chroma_ch)], chroma_q[:, [64 + k for k in chroma_ch]]], axis=1)
        return (
            torch.from_numpy(y),
            torch.from_numpy(c),
            torch.from_numpy(np.ascontiguousarray(luma_q[:, list(luma_ch)])),
            torch.from_numpy(np.ascontiguousarray(cq)),
        )


class RgbBatches:
    """Random crops + flips of the cached squares, or random-resized crops with ``scale`` (the DCT batches'
    draw, ``models.train.augment.random_boxes``, resized by the same filter)."""

    def __init__(self, arrays: dict[str, np.ndarray], size: int, scale: tuple[float, float] | None = None):
        self.a = arrays
        self.size = size
        self.scale = scale

    def get(
        self, idx: np.ndarray, rng: np.random.Generator | None, pos: np.ndarray | None = None
    ) -> tuple[torch.Tensor]:
        """``pos``: optional [n, 3] relative (top, left, flip) so several resolutions see the same crop."""
        img = np.asarray(self.a["image"][idx])
        s, big = self.size, img.shape[1]
        if self.scale is not None and rng is not None and pos is None:
            n = len(idx)
            return (self._boxes(img, random_boxes(rng, n, self.scale), rng.random(n) < 0.5),)
        out = np.empty((len(idx), s, s, 3), np.uint8)
        for i in range(len(idx)):
            if pos is not None:
                top, left, flip = round(pos[i, 0] * (big - s)), round(pos[i, 1] * (big - s)), pos[i, 2] > 0.5
            elif rng is None:
                top = left = (big - s) // 2
                flip = False
            else:
                top, left = rng.integers(0, big - s + 1, size=2)
                flip = rng.random() < 0.5
            crop = img[i, top : top + s, left : left + s]
            out[i] = crop[:, ::-1] if flip else crop
        return (torch.from_numpy(out),)

    def resized(self, idx: np.ndarray, boxes: np.ndarray, flips: np.ndarray) -> tuple[torch.Tensor]:
        """Random-resized crops at given relative ``boxes`` and ``flips`` (as ``PixelCropDctBatches.resized``)."""
        return (self._boxes(np.asarray(self.a["image"][idx]), boxes, flips),)

    def _boxes(self, img: np.ndarray, boxes: np.ndarray, flips: np.ndarray) -> torch.Tensor:
        n = len(img)
        out = torch.empty((n, self.size, self.size, 3), dtype=torch.uint8)
        for i in range(n):
            crop = resize_box(torch.from_numpy(img[i]).permute(2, 0, 1), boxes[i], (self.size, self.size))
            out[i] = (crop.flip(-1) if flips[i] else crop).permute(1, 2, 0).to(torch.uint8)
        return out


Batches = DctBatches | PixelCropDctBatches | RgbBatches


Scale = tuple[float, float] | None


def _dct_batches(
    c: InputContract, files: list[Path], cache_dir: Path, crop_step: int, pixel_crops: bool, scale: Scale = None
) -> Batches:
    p = c.channel_preset
    margin = dct_margin(c.grid)
    exact = DctBatches(dct_arrays(files, c, margin, cache_dir), (p.luma, p.chroma), c.grid, crop_step=crop_step)
    if not pixel_crops and scale is None:
        return exact
    return PixelCropDctBatches(exact, dct_arrays(files, replace(c, preset="dct192"), margin, cache_dir), scale)


def _rgb_batches(
    c: InputContract, files: list[Path], cache_dir: Path, crop_step: int, pixel_crops: bool, scale: Scale = None
) -> Batches:
    return RgbBatches(rgb_arrays(files, c.resize_short, cache_dir), c.size, scale)


# Training batches of each single-graph kind (DRNet trains its paths from RgbBatches per resolution).
BATCHES = {"dct": _dct_batches, "rgb": _rgb_batches}


def _rgb_path_batches(c: InputContract, r: int, files: list[Path], cache_dir: Path, pixel_crops: bool) -> Batches:
    return RgbBatches(rgb_arrays(files, c.resize_short_for(r), cache_dir), r)


def _dct_path_batches(c: InputContract, r: int, files: list[Path], cache_dir: Path, pixel_crops: bool) -> Batches:
    return _dct_batches(c.dct_path(r), files, cache_dir, 1, pixel_crops)


# Batches of one DRNet path at resolution r, per DRNet kind.
PATH_BATCHES = {"drnet": _rgb_path_batches, "dct_drnet": _dct_path_batches}


def path_batches(c: InputContract, files: list[Path], cache_dir: Path, pixel_crops: bool = False) -> list[Batches]:
    """One ``Batches`` per resolution of a DRNet contract, largest first."""
    return [PATH_BATCHES[c.kind](c, r, files, cache_dir, pixel_crops) for r in c.resolutions]


def make_batches(
    model: nn.Module,
    files: list[Path],
    cache_dir: Path,
    dct_crop_step: int = 1,
    dct_pixel_crops: bool = False,
    scale: Scale = None,
) -> Batches:
    """``scale``: random-resized training crops with this area range (both kinds), else fixed-size crops."""
    c = model.contract
    try:
        build = BATCHES[c.kind]
    except KeyError:
        raise ValueError(f"no training batches for kind {c.kind!r}; known: {sorted(BATCHES)}") from None
    return build(c, files, cache_dir, dct_crop_step, dct_pixel_crops, scale)
