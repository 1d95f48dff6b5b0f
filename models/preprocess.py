"""Bytes -> model inputs, exactly as training, export and serving see them (numpy only, no torch).

DCT models: quantized int16 coefficients of the preset's channels, luma on its block grid and chroma on the
4:2:0 grid, centre-cropped (or padded) to the contract's grid, plus the quantization step of each channel.
RGB models: libjpeg scaled decode (smallest M/8 that stays above the target), resize of the short side,
centre crop.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

from jpegdct import Limits, decode_rgb, read_coefficients
from jpegdct.blocks import center_offsets, crop_or_pad, downsample2x, orient, trim_to_mcus
from jpegdct.reader import DEFAULT_LIMITS, JpegCoefficients, read_header
from models.contract import InputContract


@dataclass(frozen=True)
class DctInput:
    luma: np.ndarray  # int16 [Cy, gh, gw]
    chroma: np.ndarray  # int16 [2*Cc, gh/2, gw/2]: Cb channels then Cr channels
    luma_q: np.ndarray  # float32 [Cy]
    chroma_q: np.ndarray  # float32 [2*Cc]

    @property
    def nbytes(self) -> int:
        return self.luma.nbytes + self.chroma.nbytes + self.luma_q.nbytes + self.chroma_q.nbytes


def _to_420_chroma(jc: JpegCoefficients, wanted: tuple[int, ...]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Chroma planes on the 4:2:0 grid (half the MCU-trimmed luma grid) with their quantization steps.

    Native 4:2:0 chroma is passed through untouched (still quantized). Other layouts are brought there by
    exact DCT-domain box downsampling of the dequantized coefficients (steps then are 1).
    """
    luma = jc.components[0]
    planes, steps = [], []
    for comp in jc.components[1:3]:
        fv = 2 * comp.v_samp // luma.v_samp
        fh = 2 * comp.h_samp // luma.h_samp
        if (fv, fh) == (1, 1):
            planes.append(comp.coefficients[[comp.channels.index(c) for c in wanted]])
            steps.append(comp.quant_table[list(wanted)].astype(np.float32))
            continue
        if fv not in (1, 2) or fh not in (1, 2):
            raise ValueError(f"unsupported chroma sampling {jc.header.subsampling}")
        deq = comp.coefficients.astype(np.float64) * comp.quant_table[:, None, None]
        down = downsample2x(deq, fv, fh)[list(wanted)]
        planes.append(np.clip(np.rint(down), -32768, 32767).astype(np.int16))
        steps.append(np.ones(len(wanted), dtype=np.float32))
    return planes, steps


def _chroma_read_list(header_samp: tuple[tuple[int, ...], tuple[int, ...]], wanted: tuple[int, ...]) -> tuple[int, ...]:
    h, v = header_samp
    if len(h) >= 3 and h[0] == 2 * h[1] and v[0] == 2 * v[1]:
        return wanted
    return tuple(range(64))  # resampling needs every coefficient


def dct_input(data: bytes, contract: InputContract, limits: Limits = DEFAULT_LIMITS) -> DctInput:
    """JPEG bytes -> the DCT model's inputs (see module docstring)."""
    preset = contract.channel_preset
    header = read_header(data, limits)
    chroma_read = _chroma_read_list((header.h_samp, header.v_samp), preset.chroma)
    jc = read_coefficients(data, (preset.luma, chroma_read, chroma_read), limits)
    return dct_input_from_coefficients(jc, contract)


def dct_input_from_coefficients(jc: JpegCoefficients, contract: InputContract) -> DctInput:
    preset = contract.channel_preset
    jc = orient(trim_to_mcus(jc))
    gh, gw = contract.grid
    luma = jc.components[0]
    top, left = center_offsets(*luma.coefficients.shape[-2:], gh, gw, align=2)
    y = crop_or_pad(luma.coefficients, top, left, gh, gw)
    yq = luma.quant_steps.astype(np.float32)
    ch, cw = contract.chroma_grid
    nc = len(preset.chroma)
    if jc.has_chroma:
        planes, steps = _to_420_chroma(jc, preset.chroma)
        c = np.concatenate([crop_or_pad(p, top // 2, left // 2, ch, cw) for p in planes])
        cq = np.concatenate(steps)
    else:  # grayscale: neutral chroma is exactly zero in the DCT domain
        c = np.zeros((2 * nc, ch, cw), dtype=np.int16)
        cq = np.ones(2 * nc, dtype=np.float32)
    return DctInput(np.ascontiguousarray(y), np.ascontiguousarray(c), yq, cq)


_ORIENT_PIXELS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, -1)[:, ::-1][::-1],
    8: lambda a: np.rot90(a, 1),
}


def _scale_for(short: int, target_short: int) -> int:
    """Smallest libjpeg scale M/8 (M <= 8) whose output short side is still >= the target."""
    for m in range(1, 9):
        if -(-short * m // 8) >= target_short:
            return m
    return 8


def rgb_input(data: bytes, size: int, resize_short: int, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """JPEG bytes -> uint8 RGB ``[size, size, 3]``: scaled decode, resize short side, centre crop."""
    header = read_header(data, limits)
    rgb = decode_rgb(data, _scale_for(min(header.width, header.height), resize_short), limits)
    if header.orientation in _ORIENT_PIXELS:
        rgb = np.ascontiguousarray(_ORIENT_PIXELS[header.orientation](rgb))
    h, w = rgb.shape[:2]
    if min(h, w) != resize_short:
        s = resize_short / min(h, w)
        nw, nh = max(size, round(w * s)), max(size, round(h * s))
        rgb = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None))
        h, w = nh, nw
    top, left = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(rgb[top : top + size, left : left + size])


def dc_thumbnail(jc: JpegCoefficients, size: int) -> np.ndarray:
    """float32 ``[3, size, size]`` YCbCr thumbnail at 1/8 scale from DC coefficients (0..255 range).

    A DC coefficient is 8x the block's mean level-shifted sample, so this is exactly the block means.
    ``jc`` needs channel 0 of each component; chroma is repeated up to the luma grid.
    """
    jc = orient(trim_to_mcus(jc))
    luma = jc.components[0]
    y = luma.coefficients[luma.channels.index(0)] * float(luma.quant_table[0]) / 8 + 128
    planes = [y]
    for comp in jc.components[1:3]:
        c = comp.coefficients[comp.channels.index(0)] * float(comp.quant_table[0]) / 8 + 128
        c = np.repeat(np.repeat(c, luma.v_samp // comp.v_samp, 0), luma.h_samp // comp.h_samp, 1)
        planes.append(c[: y.shape[0], : y.shape[1]])
    while len(planes) < 3:
        planes.append(np.full_like(y, 128.0))
    thumb = np.stack(planes).astype(np.float32)
    top, left = center_offsets(*thumb.shape[-2:], size, size)
    out = np.full((3, size, size), 128.0, dtype=np.float32)
    window = crop_or_pad(thumb - 128.0, top, left, size, size)
    return out + window


def thumbnail_input(data: bytes, size: int, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    jc = read_coefficients(data, ((0,), (0,), (0,)), limits)
    return dc_thumbnail(jc, size)


def model_input_bytes(contract: InputContract, resolution: int | None = None) -> int:
    return contract.input_bytes(resolution)
