"""Sub-block random crops of DCT inputs, for training only.

A crop that moves by whole 8x8 blocks is exact in the DCT domain; one that moves by a few pixels is not: the
pixels of each new block come from four old blocks. These functions do what re-encoding a shifted photo
would do: inverse DCT of all 64 coefficients to pixels (rounded and clipped to 8 bits, as a decoder
does), the pixel shift and optional mirror, forward DCT on the new block grid, and quantization with the
photo's own tables. At a whole-block offset the result equals the block crop (up to that rounding).
``resized_crops`` does the same for a random-resized crop (a box of any size and aspect, resized to the
model's grid): what re-encoding a zoomed photo would give. Serving never calls these: it reads the
coefficients straight from the JPEG.

Arrays are torch tensors ``[n, 64, blocks_h, blocks_w]`` in natural channel order ``8*v+u``.
"""

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from jpegdct.blocks import dct_matrix


def _basis() -> torch.Tensor:
    return torch.from_numpy(dct_matrix()).float()


def blocks_to_pixels(coefs: torch.Tensor) -> torch.Tensor:
    """Dequantized ``[n, 64, H, W]`` -> level-shifted pixels ``[n, 8H, 8W]`` (inverse 2D DCT per block)."""
    n, _, h, w = coefs.shape
    d = _basis()
    x = coefs.reshape(n, 8, 8, h, w)
    p = torch.einsum("vm,nvuhw,uk->nhmwk", d, x, d)
    return p.reshape(n, 8 * h, 8 * w)


def pixels_to_blocks(pixels: torch.Tensor) -> torch.Tensor:
    """Level-shifted pixels ``[n, 8H, 8W]`` -> ``[n, 64, H, W]`` (forward 2D DCT per 8x8 block)."""
    n, ph, pw = pixels.shape
    h, w = ph // 8, pw // 8
    d = _basis()
    x = pixels.reshape(n, h, 8, w, 8)
    c = torch.einsum("vm,nhmwk,uk->nvuhw", d, x, d)
    return c.reshape(n, 64, h, w)


def shifted_crops(
    coefs: np.ndarray,
    steps: np.ndarray,
    offsets: np.ndarray,
    flips: np.ndarray,
    grid: tuple[int, int],
    wanted: Sequence[int],
) -> np.ndarray:
    """Crops of ``grid`` blocks at pixel ``offsets`` (``[n, 2]`` top, left), re-transformed and requantized.

    ``coefs``: int16 ``[n, 64, H, W]`` quantized coefficients, ``steps``: ``[n, 64]`` quantization steps.
    ``flips``: ``[n]`` bools, mirror left-right after cropping. Returns int16 ``[n, len(wanted), *grid]``.
    """
    n, _, h, w = coefs.shape
    gh, gw = grid
    if offsets.min() < 0 or (offsets[:, 0] > 8 * (h - gh)).any() or (offsets[:, 1] > 8 * (w - gw)).any():
        raise ValueError(f"offsets must lie in [0, {8 * (h - gh)}] x [0, {8 * (w - gw)}] pixels")
    blocks = offsets // 8
    # One block more than the crop covers any sub-block shift; zero-padded where the source ends.
    padded = np.pad(coefs, ((0, 0), (0, 0), (0, 1), (0, 1)))
    region = np.stack([padded[i, :, t : t + gh + 1, left : left + gw + 1] for i, (t, left) in enumerate(blocks)])
    q = torch.from_numpy(np.asarray(steps, np.float32))
    pixels = blocks_to_pixels(torch.from_numpy(region).float() * q[:, :, None, None])
    pixels = (pixels + 128).round().clamp(0, 255) - 128
    rest = offsets - 8 * blocks
    crops = torch.stack([pixels[i, t : t + 8 * gh, left : left + 8 * gw] for i, (t, left) in enumerate(rest)])
    flip = torch.from_numpy(np.asarray(flips, bool))
    crops[flip] = crops[flip].flip(-1)
    wanted_t = torch.as_tensor(list(wanted))
    out = pixels_to_blocks(crops)[:, wanted_t] / q[:, wanted_t, None, None]
    return out.round().clamp(-32768, 32767).to(torch.int16).numpy()


def random_boxes(
    rng: np.random.Generator, n: int, scale: tuple[float, float], ratio: tuple[float, float] = (3 / 4, 4 / 3)
) -> np.ndarray:
    """``[n, 4]`` relative boxes (top, left, height, width) in a unit square: area drawn uniformly from
    ``scale``, aspect (width / height) log-uniformly from ``ratio``, sides clipped to the square, position
    uniform. The same draw serves RGB and DCT batches, so both kinds train on the same geometry."""
    area = rng.uniform(scale[0], scale[1], n)
    aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1]), n))
    h = np.minimum(1.0, np.sqrt(area / aspect))
    w = np.minimum(1.0, np.sqrt(area * aspect))
    return np.stack([rng.uniform(0, 1 - h), rng.uniform(0, 1 - w), h, w], axis=1)


def pixel_box(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    """A relative box -> integer (top, left, height, width) inside a ``height x width`` image, >= 1 pixel."""
    h = max(1, min(height, round(box[2] * height)))
    w = max(1, min(width, round(box[3] * width)))
    top = min(height - h, max(0, round(box[0] * height)))
    left = min(width - w, max(0, round(box[1] * width)))
    return top, left, h, w


def resize_box(image: torch.Tensor, box: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Crop a relative box of ``[c, H, W]`` and resize it to ``size`` (bilinear, antialiased when shrinking,
    as a photo editor or a scaled decode would), rounded and clipped to 8 bits like a re-saved photo.
    ``image`` holds 8-bit values (0..255) in any dtype; returns float32."""
    top, left, h, w = pixel_box(box, image.shape[-2], image.shape[-1])
    crop = image[None, :, top : top + h, left : left + w].float()
    out = F.interpolate(crop, size=size, mode="bilinear", antialias=True, align_corners=False)
    return out[0].round().clamp(0, 255)


def resized_crops(
    coefs: np.ndarray,
    steps: np.ndarray,
    boxes: np.ndarray,
    flips: np.ndarray,
    grid: tuple[int, int],
    wanted: Sequence[int],
) -> np.ndarray:
    """Random-resized crops of DCT inputs: each photo decoded to pixels (all 64 coefficients), the relative
    ``boxes`` (``[n, 4]``, see ``random_boxes``) cut and resized to ``grid`` blocks, optionally mirrored,
    forward-transformed and quantized with the photo's own tables. Arguments and result as ``shifted_crops``."""
    n = coefs.shape[0]
    gh, gw = grid
    q = torch.from_numpy(np.asarray(steps, np.float32))
    pixels = blocks_to_pixels(torch.from_numpy(np.asarray(coefs)).float() * q[:, :, None, None]) + 128
    pixels = pixels.round().clamp(0, 255)
    crops = torch.stack([resize_box(pixels[i : i + 1], boxes[i], (8 * gh, 8 * gw))[0] for i in range(n)]) - 128
    flip = torch.from_numpy(np.asarray(flips, bool))
    crops[flip] = crops[flip].flip(-1)
    wanted_t = torch.as_tensor(list(wanted))
    out = pixels_to_blocks(crops)[:, wanted_t] / q[:, wanted_t, None, None]
    return out.round().clamp(-32768, 32767).to(torch.int16).numpy()
