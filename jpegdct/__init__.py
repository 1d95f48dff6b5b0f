"""jpegdct: torch-free JPEG DCT-coefficient reader and block-grid operations."""

from jpegdct.channels import PRESETS, ChannelPreset, get_preset
from jpegdct.errors import InvalidJpeg, JpegError, JpegTooLarge, UnsupportedJpeg
from jpegdct.reader import (
    BlockWindow,
    Component,
    JpegCoefficients,
    JpegHeader,
    Limits,
    ReadRequest,
    decode_rgb,
    read_coefficients,
    read_header,
)

__all__ = [
    "PRESETS",
    "BlockWindow",
    "ChannelPreset",
    "Component",
    "InvalidJpeg",
    "JpegCoefficients",
    "JpegError",
    "JpegHeader",
    "JpegTooLarge",
    "Limits",
    "ReadRequest",
    "UnsupportedJpeg",
    "decode_rgb",
    "get_preset",
    "read_coefficients",
    "ReadRequest",
    "read_header",
]
