"""A lean HTTP/1.1 client for overload benchmarks on small machines.

httpx spends about a millisecond of CPU per request. On a 2-core machine shared with the server that caps
what one client process can offer near the server's own peak: the "3x overload" never reaches the server,
it waits in the client, and the benchmark measures the client. This client pre-builds each request's bytes,
keeps connections alive, and parses only the status line and ``Content-Length``/``Connection`` of the
answer: tens of microseconds per request.

Loopback benchmarks only (plain HTTP, no TLS, no redirects, no chunked answers: the service sends none).
"""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class ProtocolError(Exception):
    """The answer was not HTTP/1.1 this client can read."""


def build_post(host: str, path: str, body: bytes, content_type: str = "image/jpeg") -> bytes:
    """The full bytes of one POST (head and body)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one answer."""
    line = await reader.readline()
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {line[:80]!r}")
    status = int(parts[1])
    length, keep = 0, parts[0] == b"HTTP/1.1"
    while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            keep = value.strip().lower() != b"close"
        elif name == b"transfer-encoding":
            raise ProtocolError("chunked answers are not supported")
    return status, await reader.readexactly(length), keep


@dataclass
class RawPool:
    """Keep-alive connections to one loopback server, opened on demand (at most ``max_connections``).

    Like every real client's pool, an idle connection is not reused once the server has closed it or after
    ``keepalive_expiry_s`` (below the server's keep-alive timeout): after a burst, connections idle for longer
    than the server keeps them would otherwise fail on reuse, transport errors of the client's own making."""

    url: str
    max_connections: int = 1000
    keepalive_expiry_s: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"expected an http:// URL, got {self.url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []  # and when it went idle
        self._slots = asyncio.Semaphore(self.max_connections)

    def _reusable(self) -> Connection | None:
        now = time.monotonic()
        while self._idle:
            reader, writer, since = self._idle.pop()
            if now - since < self.keepalive_expiry_s and not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send pre-built request bytes; (status, body). Raises ``OSError``/``ProtocolError`` on failure."""
        async with self._slots:
            reader, writer = self._reusable() or await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(raw)
                await writer.drain()
                status, body, keep = await read_answer(reader)
            except (OSError, asyncio.IncompleteReadError, ProtocolError, ValueError):
                writer.close()
                raise
            if keep:
                self._idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            return status, body

    async def close(self) -> None:
        for _, writer, _ in self._idle:
            writer.close()
        self._idle.clear()


@dataclass(frozen=True)
class RawSample:
    status: int | str  # HTTP status, or "transport" when no answer came
    latency_s: float  # from the scheduled send (open loop) or the actual send (closed loop)


async def timed(pool: RawPool, raw: bytes, start: float) -> RawSample:
    try:
        status, _ = await pool.request(raw)
    except (OSError, asyncio.IncompleteReadError, ProtocolError, ValueError):
        status = "transport"
    return RawSample(status, time.perf_counter() - start)


async def closed_loop(
    pool: RawPool, requests: Sequence[bytes], concurrency: int, seconds: float
) -> tuple[list[RawSample], float]:
    """``concurrency`` workers, each sending its next request when the last is answered, for ``seconds``."""
    samples: list[RawSample] = []
    begin = time.perf_counter()
    end = begin + seconds

    async def worker(w: int) -> None:
        i = w
        while time.perf_counter() < end:
            samples.append(await timed(pool, requests[i % len(requests)], time.perf_counter()))
            i += concurrency

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return samples, time.perf_counter() - begin


async def open_loop(
    pool: RawPool, requests: Sequence[bytes], offsets: Sequence[float]
) -> tuple[list[RawSample], float]:
    """Request ``i`` at ``begin + offsets[i]`` whatever is still in flight; latency from the scheduled time."""
    begin = time.perf_counter() + 0.01
    tasks = []
    for i, offset in enumerate(offsets):
        due = begin + offset
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(pool, requests[i % len(requests)], due)))
    samples = list(await asyncio.gather(*tasks))
    return samples, time.perf_counter() - begin
