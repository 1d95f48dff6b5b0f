"""Fixtures for the reader tests: tiny JPEGs made with Pillow in memory, and an independent numpy decoder.

The reference decoder (`ref_decode`) shares no code with jpegdct: it dequantizes, applies the textbook
orthonormal 8x8 inverse DCT, rounds each component to 8-bit samples (as every JPEG decoder does), upsamples
chroma and converts JFIF YCbCr to RGB. Tests compare it with Pillow's decode of the same bytes.
"""

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from jpegdct import JpegCoefficients

# Pillow's names for its `subsampling` option.
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def smooth_image(height: int, width: int, seed: int = 0, gray: bool = False) -> np.ndarray:
    """uint8 image of gradients and low-frequency waves with mild noise.

    Smooth content keeps chroma-upsampling differences between decoders small, so the reference comparison
    can use tight bounds; the noise still populates high-frequency coefficients.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(1 if gray else 3):
        phase = rng.uniform(0, 2 * np.pi, 2)
        wave = 70 * np.sin(x / (5 + 3 * c) + phase[0]) * np.cos(y / (7 + 2 * c) + phase[1])
        ramp = 60 * (x / max(width - 1, 1)) - 40 * (y / max(height - 1, 1))
        planes.append(128 + wave + ramp + rng.normal(0, 3, (height, width)))
    img = np.clip(np.rint(np.stack(planes, -1)), 0, 255).astype(np.uint8)
    return img[..., 0] if gray else img


def noise_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Full-range noise: every coefficient populated, worst case for sign and ordering bugs."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def encode(
    img: np.ndarray,
    quality: int = 75,
    subsampling: str = "4:2:0",
    progressive: bool = False,
    optimize: bool = False,
    restart_blocks: int | None = None,
    restart_rows: int | None = None,
    orientation: int | None = None,
) -> bytes:
    """JPEG bytes of ``img`` (H x W x 3 RGB or H x W gray) written by Pillow."""
    kw: dict[str, object] = {"quality": quality, "progressive": progressive, "optimize": optimize}
    if img.ndim == 3:
        kw["subsampling"] = SUBSAMPLING[subsampling]
    if restart_blocks is not None:
        kw["restart_marker_blocks"] = restart_blocks
    if restart_rows is not None:
        kw["restart_marker_rows"] = restart_rows
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", **kw)
    return buf.getvalue()


def pillow_rgb(data: bytes) -> np.ndarray:
    """Pillow's decode (bundled libjpeg-turbo, islow IDCT, fancy upsampling) as float64 [H, W, 3] (gray: [H, W])."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im, dtype=np.float64)


_D = np.sqrt(2 / 8) * np.cos((2 * np.arange(8)[None, :] + 1) * np.arange(8)[:, None] * np.pi / 16)
_D[0] /= np.sqrt(2)


def idct_plane(coefs: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """[64, bh, bw] quantized natural-order coefficients -> float64 samples [8*bh, 8*bw] (level-shifted)."""
    bh, bw = coefs.shape[-2:]
    f = (coefs.astype(np.float64) * quant.astype(np.float64)[:, None, None]).reshape(8, 8, bh, bw)
    blocks = np.einsum("vy,ux,vuhw->hywx", _D, _D, f)
    return blocks.reshape(8 * bh, 8 * bw) + 128


def _upsample_axis(x: np.ndarray, axis: int, factor: int, fancy: bool) -> np.ndarray:
    if factor == 1:
        return x
    if factor != 2 or not fancy:
        return np.repeat(x, factor, axis=axis)
    # libjpeg's "fancy" (triangle) upsampling: each output sample is 3/4 of the nearer input sample plus 1/4
    # of the next one out, edges replicated.
    n = x.shape[axis]
    prev = np.take(x, np.r_[0, np.arange(n - 1)], axis=axis)
    nxt = np.take(x, np.r_[np.arange(1, n), n - 1], axis=axis)
    even, odd = 0.75 * x + 0.25 * prev, 0.75 * x + 0.25 * nxt
    out = np.stack([even, odd], axis=axis + 1)
    shape = list(x.shape)
    shape[axis] = 2 * n
    return out.reshape(shape)


def ref_decode(jc: JpegCoefficients, fancy: bool = True, round_samples: bool = True) -> np.ndarray:
    """Independent decode of all-channel coefficients: float64 RGB [H, W, 3] (gray: [H, W]), not rounded.

    ``round_samples``: round and clamp every component to 8-bit after the IDCT, as libjpeg does before
    upsampling. Turn it off to get a purely linear decode (for exact commutation checks).
    """
    h, w = jc.height, jc.width
    hmax = max(c.h_samp for c in jc.components)
    vmax = max(c.v_samp for c in jc.components)
    planes = []
    for comp in jc.components:
        assert comp.channels == tuple(range(64)), "ref_decode needs all 64 channels"
        p = idct_plane(comp.coefficients, comp.quant_table)
        if round_samples:
            p = np.clip(np.rint(p), 0, 255)
        # Samples beyond the component's true size are encoder padding: libjpeg replicates the edge there.
        ch, cw = -(-h * comp.v_samp // vmax), -(-w * comp.h_samp // hmax)
        p = p[:ch, :cw]
        p = _upsample_axis(p, 0, vmax // comp.v_samp, fancy)
        p = _upsample_axis(p, 1, hmax // comp.h_samp, fancy)
        planes.append(p[:h, :w])
    if len(planes) == 1:
        return planes[0]
    y, cb, cr = planes[0], planes[1] - 128, planes[2] - 128
    return np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255)


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, as a fixture (test modules must not import conftest)."""
    return SimpleNamespace(
        encode=encode,
        smooth_image=smooth_image,
        noise_image=noise_image,
        pillow_rgb=pillow_rgb,
        idct_plane=idct_plane,
        ref_decode=ref_decode,
        to_uint8=to_uint8,
        subsamplings=tuple(SUBSAMPLING),
    )
