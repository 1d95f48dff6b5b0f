"""Minimal, bounds-checked EXIF orientation lookup (tag 0x0112 of IFD0). Hostile input returns 1."""

import struct

_ORIENTATION_TAG = 0x0112


def exif_orientation(app1: bytes) -> int:
    """Return the EXIF orientation (1-8) stored in an APP1 payload that starts with ``Exif\\0\\0``.

    Any malformed structure yields 1 (no transform): orientation is a display hint, not worth failing for.
    """
    if len(app1) < 14 or app1[:6] != b"Exif\x00\x00":
        return 1
    tiff = app1[6:]
    order = tiff[:2]
    if order == b"II":
        endian = "<"
    elif order == b"MM":
        endian = ">"
    else:
        return 1
    try:
        (magic,) = struct.unpack_from(endian + "H", tiff, 2)
        (ifd,) = struct.unpack_from(endian + "I", tiff, 4)
        if magic != 42 or ifd + 2 > len(tiff):
            return 1
        (count,) = struct.unpack_from(endian + "H", tiff, ifd)
        for i in range(min(count, 512)):
            entry = ifd + 2 + 12 * i
            if entry + 12 > len(tiff):
                return 1
            tag, typ, n = struct.unpack_from(endian + "HHI", tiff, entry)
            if tag == _ORIENTATION_TAG:
                if typ != 3 or n != 1:  # one SHORT; with another count the value field is an offset, not a value
                    return 1
                (value,) = struct.unpack_from(endian + "H", tiff, entry + 8)
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1
