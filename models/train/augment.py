"""Sub-block random crops of DCT inputs, for training only.

A crop that moves by whole 8x8 blocks is exact in the DCT domain; one that moves by a few pixels is not: the
pixels of each new block come from four old blocks. These functions do what re-encoding a shifted photo
would do: inverse DCT of all 64 coefficients to pixels (rounded and clipped to 8 bits, as a decoder
does), the pixel shift and optional mirror, forward DCT on the new block grid, and quantization with the
photo's own tables. At a whole-block offset the result equals the block crop (up to that rounding).
Serving never calls this: it reads the coefficients straight from the JPEG.

Arrays are torch tensors ``[n, 64, blocks_h, blocks_w]`` in natural channel order ``8*v+u``.
"""

from collections.abc import Sequence

import numpy as np
import torch

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
