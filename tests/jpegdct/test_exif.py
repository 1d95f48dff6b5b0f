"""jpegdct.exif: orientation lookup, from Pillow-written EXIF and from hand-built hostile TIFF structures."""

import struct
import time
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jpegdct import read_header
from jpegdct.exif import exif_orientation


def _app1(entries: list[tuple[int, int, int, bytes]], endian: str = "<", ifd_offset: int = 8) -> bytes:
    """Exif APP1 payload with one IFD of (tag, type, count, 4-byte value field) entries."""
    order = b"II" if endian == "<" else b"MM"
    tiff = order + struct.pack(endian + "HI", 42, ifd_offset)
    tiff += b"\x00" * (ifd_offset - len(tiff))
    tiff += struct.pack(endian + "H", len(entries))
    for tag, typ, count, value in entries:
        tiff += struct.pack(endian + "HHI", tag, typ, count) + value
    return b"Exif\x00\x00" + tiff + b"\x00\x00\x00\x00"


def _short(value: int, endian: str) -> bytes:
    return struct.pack(endian + "HH", value, 0)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_pillow_written_orientation(kit: SimpleNamespace, orientation: int) -> None:
    data = kit.encode(kit.smooth_image(8, 16), orientation=orientation)
    assert read_header(data).orientation == orientation


def test_no_exif_is_1(kit: SimpleNamespace) -> None:
    assert read_header(kit.encode(kit.smooth_image(8, 8))).orientation == 1


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_both_byte_orders(endian: str, orientation: int) -> None:
    other = (0x010F, 2, 4, b"abc\x00")  # Make, before Orientation as in camera files
    assert exif_orientation(_app1([other, (0x0112, 3, 1, _short(orientation, endian))], endian)) == orientation
    assert exif_orientation(_app1([(0x0112, 3, 1, _short(orientation, endian))], endian, ifd_offset=20)) == orientation


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"Exif\x00\x00",
        b"Exif\x00\x00II",
        b"JFIF\x00\x00II*\x00\x08\x00\x00\x00",  # not Exif
        b"Exif\x00\x00XX*\x00\x08\x00\x00\x00\x00\x00",  # bad byte order
        b"Exif\x00\x00II+\x00\x08\x00\x00\x00\x00\x00",  # bad magic
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f\x00\x00",  # IFD offset far past the end
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff",  # 65535 entries announced, none present
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x02\x00\x12\x01\x03\x00",  # entry cut short
        _app1([(0x0112, 4, 1, struct.pack("<I", 6))]),  # LONG instead of SHORT
        _app1([(0x0112, 3, 0, _short(6, "<"))]),  # zero count
        _app1([(0x0112, 3, 0xFFFFFFFF, _short(6, "<"))])[:-4],  # huge count
        _app1([(0x0112, 3, 1, _short(0, "<"))]),  # out of range
        _app1([(0x0112, 3, 1, _short(9, "<"))]),
        _app1([(0x0112, 3, 1, _short(0xFFFF, "<"))]),
        _app1([(0x0112, 3, 1, _short(6, ">"))]),  # value written in the wrong byte order -> 0x0600
        _app1([(0x0100, 3, 1, _short(6, "<"))] * 600 + [(0x0112, 3, 1, _short(6, "<"))]),  # beyond 512 entries
    ],
)
def test_hostile_exif_is_1(payload: bytes) -> None:
    assert exif_orientation(payload) == 1


def test_many_entries_are_bounded_in_time() -> None:
    payload = _app1([(0x0100, 3, 1, _short(1, "<"))] * 5000)
    t0 = time.perf_counter()
    assert exif_orientation(payload) == 1
    assert time.perf_counter() - t0 < 0.1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([b"II*\x00", b"MM\x00*"]))
def test_random_exif_never_raises(tail: bytes, head: bytes) -> None:
    result = exif_orientation(b"Exif\x00\x00" + head + tail)
    assert isinstance(result, int) and 1 <= result <= 8
