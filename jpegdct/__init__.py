"""jpegdct: torch-free JPEG DCT-coefficient reader and block-grid operations."""

from jpegdct.channels import PRESETS, ChannelPreset, get_preset
from jpegdct.errors import InvalidJpeg, JpegError, JpegTooLarge, UnsupportedJpeg
from jpegdct.reader import (
    Component,
    JpegCoefficients,
    JpegHeader,
    Limits,
    decode_rgb,
    read_coefficients,
    read_header,
)

__all__ = [
    "PRESETS",
    "ChannelPreset",
    "Component",
    "InvalidJpeg",
    "JpegCoefficients",
    "JpegError",
    "JpegHeader",
    "JpegTooLarge",
    "Limits",
    "UnsupportedJpeg",
    "decode_rgb",
    "get_preset",
    "read_coefficients",
    "read_header",
]
