"""Typed reader errors: callers map them to user-facing answers (the service: 413/415/422)."""


class JpegError(ValueError):
    """Base class of every error the reader raises for a bad or unsupported input."""


class InvalidJpeg(JpegError):
    """Not a JPEG, or a corrupt / truncated one."""


class UnsupportedJpeg(JpegError):
    """A valid JPEG that uses a feature we do not read (arithmetic coding, 12-bit, CMYK, YCCK...)."""


class JpegTooLarge(UnsupportedJpeg):
    """The header declares more pixels (or a longer side) than the configured limit."""
