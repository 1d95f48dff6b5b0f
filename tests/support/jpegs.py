"""Test JPEGs, made here with Pillow (never dataset images), and the bad-input matrix of the reader issue."""

import io
import random
import struct

import numpy as np
from PIL import Image


def make_jpeg(
    width: int,
    height: int,
    seed: int = 0,
    quality: int = 75,
    subsampling: int = 2,
    mode: str = "RGB",
    **save_kw: object,
) -> bytes:
    """A smooth random image (gradients + blobs), so the JPEG has realistic low-frequency content."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    chans = []
    for _ in range(3):
        a, b, c = rng.uniform(-1, 1, 3)
        chans.append(128 + 90 * np.sin(6 * a * xx + 6 * b * yy + 3 * c))
    img = np.clip(np.stack(chans, -1) + rng.normal(0, 6, (height, width, 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(img).convert(mode)
    buf = io.BytesIO()
    kw = {"subsampling": subsampling} if mode != "L" else {}
    im.save(buf, "JPEG", quality=quality, **kw, **save_kw)
    return buf.getvalue()


def jpeg(
    color: tuple[int, int, int] = (200, 30, 40),
    size: tuple[int, int] = (80, 64),
    mode: str = "RGB",
    quality: int = 90,
    subsampling: int = 2,
    **save: object,
) -> bytes:
    """A solid colour with a gentle ramp on top, so every block has some AC energy."""
    w, h = size
    ramp = (np.add.outer(np.arange(h), np.arange(w)) % 16).astype(np.int16)[..., None]
    rgb = np.clip(np.array(color, dtype=np.int16) + ramp - 8, 0, 255).astype(np.uint8)
    img = Image.fromarray(rgb).convert(mode)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, subsampling=subsampling, **save)
    return buf.getvalue()


# jpegtran's arguments for the transform that displays an image with this EXIF orientation upright.
JPEGTRAN_UPRIGHT = {
    1: [],
    2: ["-flip", "horizontal"],
    3: ["-rotate", "180"],
    4: ["-flip", "vertical"],
    5: ["-transpose"],
    6: ["-rotate", "90"],
    7: ["-transverse"],
    8: ["-rotate", "270"],
}
# ... and for the inverse: how to store an upright photo so that orientation o brings it back (every
# transform undoes itself except the two quarter turns, which undo each other).
JPEGTRAN_STORE = {o: JPEGTRAN_UPRIGHT[{6: 8, 8: 6}.get(o, o)] for o in JPEGTRAN_UPRIGHT}


def encode(im: Image.Image, **kw: object) -> bytes:
    """A Pillow image as JPEG bytes (``kw``: Pillow's save options)."""
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def with_orientation(data: bytes, orientation: int) -> bytes:
    """``data`` with an EXIF APP1 segment (orientation tag only) inserted right after SOI; the rest unchanged."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()  # starts with Exif\0\0
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buf, "PNG")
    return buf.getvalue()


def _sof_offset(data: bytes) -> int:
    """Offset of the SOFn marker (FF C0..CF except C4, C8, CC)."""
    i = 2
    while i < len(data) - 4:
        assert data[i] == 0xFF, f"lost marker sync at {i}"
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return i
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + length
    raise AssertionError("no SOF marker")


def _scan_start(data: bytes) -> int:
    sos = data.index(b"\xff\xda")
    (length,) = struct.unpack(">H", data[sos + 2 : sos + 4])
    return sos + 2 + length


def with_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG whose header claims another size (the body stays small)."""
    i = _sof_offset(data)
    return data[: i + 5] + struct.pack(">HH", height, width) + data[i + 9 :]


def with_sof(data: bytes, marker: int) -> bytes:
    i = _sof_offset(data)
    return data[: i + 1] + bytes([marker]) + data[i + 2 :]


def with_precision(data: bytes, bits: int) -> bytes:
    i = _sof_offset(data)
    return data[: i + 4] + bytes([bits]) + data[i + 5 :]


def bit_flipped(data: bytes, seed: int = 0, flips: int = 40) -> bytes:
    """Flip bits in the entropy-coded data (header intact), avoiding 0xFF bytes and markers."""
    rng = random.Random(seed)
    out = bytearray(data)
    start, end = _scan_start(data), len(data) - 2
    done = 0
    while done < flips:
        j = rng.randrange(start, end)
        if out[j] == 0xFF or out[j - 1] == 0xFF:
            continue
        flipped = out[j] ^ (1 << rng.randrange(8))
        if flipped == 0xFF:
            continue
        out[j] = flipped
        done += 1
    return bytes(out)


# What the service answers for each entry of bad_inputs(): never a 500, always the status that says why.
BAD_INPUT_STATUS = {
    "empty": 422,
    "random": 415,
    "png": 415,
    "truncated": 422,
    "bit_flipped": 422,
    "huge_header": 413,
    "cmyk": 415,
    "arithmetic": 415,
    "12_bit": 415,
}


def bad_inputs() -> dict[str, bytes]:
    """The reader issue's bad-input matrix."""
    good = jpeg(size=(160, 120))
    return {
        "empty": b"",
        "random": random.Random(1).randbytes(2000),
        "png": png(),
        "truncated": good[: len(good) // 2],
        "bit_flipped": bit_flipped(good),
        "huge_header": with_size(good, 65500, 65500),
        "cmyk": jpeg(mode="CMYK"),
        "arithmetic": with_sof(good, 0xC9),
        "12_bit": with_precision(good, 12),
    }
