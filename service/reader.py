"""The JPEG reader pool (bytes -> model inputs in threads sized to the cores) and reader errors -> HTTP answers.

The coefficient reader releases the GIL, so these threads read in parallel and the event loop never
decodes anything.
"""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from jpegdct import InvalidJpeg, JpegTooLarge, UnsupportedJpeg
from service.errors import RequestError

T = TypeVar("T")

EXPECTED = "expected an 8-bit baseline or progressive JPEG (YCbCr or grayscale)"
EXPECTED_CHROMA = "expected chroma at 1, 1/2 or 1/4 of the luma resolution per axis (4:4:4, 4:2:2, 4:4:0, 4:2:0, 4:1:1)"
_SIGNATURES = {
    b"\x89PNG": "PNG",
    b"GIF8": "GIF",
    b"RIFF": "RIFF/WebP",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"%PDF": "PDF",
}


def looks_like_jpeg(data: bytes) -> bool:
    """SOI followed by the start of another marker: what every JPEG starts with."""
    return data[:3] == b"\xff\xd8\xff"


def describe_start(data: bytes) -> str:
    for magic, kind in _SIGNATURES.items():
        if data.startswith(magic):
            return f"{kind} data"
    return f"bytes starting with {data[:4].hex(' ')}"


def check_jpeg_bytes(data: bytes) -> None:
    """Refuse what is plainly not a JPEG before it takes a reader thread."""
    if not data:
        raise RequestError(422, "empty body: expected a JPEG image")
    if not looks_like_jpeg(data):
        raise RequestError(415, f"not a JPEG: got {describe_start(data)}; expected JPEG bytes (starting with FF D8 FF)")


def as_request_error(e: Exception) -> RequestError | None:
    """The client-facing answer for a reader error; None for anything else (our bug: a 500)."""
    if isinstance(e, JpegTooLarge):
        return RequestError(413, f"JPEG too large: {e}")
    if isinstance(e, UnsupportedJpeg):
        expected = EXPECTED_CHROMA if "chroma sampling" in str(e) else EXPECTED
        return RequestError(415, f"{e}; {expected}")
    if isinstance(e, InvalidJpeg):
        return RequestError(422, f"corrupt or truncated JPEG ({str(e).removeprefix('invalid JPEG: ')})")
    return None


def _timed(fn: Callable[..., T], *args: object) -> tuple[T, float]:
    start = time.perf_counter()
    try:
        out = fn(*args)
    except Exception as e:
        mapped = as_request_error(e)
        if mapped is None:
            raise
        raise mapped from e
    return out, time.perf_counter() - start


class ReaderPool:
    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="jpeg-read")

    async def run(self, fn: Callable[..., T], *args: object) -> tuple[T, float]:
        """Run ``fn(*args)`` in the pool; returns its result and the wall time the caller waited."""
        start = time.perf_counter()
        out, _ = await asyncio.get_running_loop().run_in_executor(self._executor, _timed, fn, *args)
        return out, time.perf_counter() - start

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)
