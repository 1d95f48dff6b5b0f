"""The request body, read with its size limit enforced while it streams in (never buffered whole first)."""

from collections.abc import AsyncIterator

from fastapi import Request
from starlette.formparsers import MultiPartException, MultiPartParser

from service.errors import RequestError

RAW_TYPES = {"", "image/jpeg", "image/jpg", "image/pjpeg", "application/octet-stream"}
EXPECTED_BODY = "expected the raw JPEG with Content-Type: image/jpeg, or multipart/form-data with a 'file' field"


def _too_large(limit: int) -> RequestError:
    return RequestError(413, f"request body is larger than the limit of {limit} bytes")


async def limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        yield chunk


async def read_image(request: Request, limit: int) -> bytes:
    """The JPEG bytes of a classify request (raw body or the multipart ``file`` field)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mime == "multipart/form-data":
        return await _read_multipart(request, limit)
    if mime not in RAW_TYPES:
        raise RequestError(415, f"unsupported Content-Type {mime!r}: {EXPECTED_BODY}")
    buf = bytearray()
    async for chunk in limited(request.stream(), limit):
        buf += chunk
    return bytes(buf)


async def _read_multipart(request: Request, limit: int) -> bytes:
    parser = MultiPartParser(request.headers, limited(request.stream(), limit), max_files=1, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise RequestError(422, f"malformed multipart body ({e.message}): {EXPECTED_BODY}") from None
    try:
        file = form.get("file")
        if file is None:
            raise RequestError(422, f"multipart body has no 'file' field: {EXPECTED_BODY}")
        if isinstance(file, str):
            raise RequestError(422, f"multipart field 'file' is text, not a file upload: {EXPECTED_BODY}")
        return await file.read()
    finally:
        await form.close()
