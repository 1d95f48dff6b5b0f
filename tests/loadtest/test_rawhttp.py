import asyncio
import json

import pytest

from loadtest.rawhttp import ProtocolError, RawPool, build_post, closed_loop, open_loop, read_answer

pytestmark = pytest.mark.anyio
JPEG = b"\xff\xd8\xff\xe0" + bytes(100)


def host(url: str) -> str:
    return url.removeprefix("http://")


async def test_answers_keep_their_status_and_body_over_one_kept_alive_connection(stub_url: str) -> None:
    pool = RawPool(stub_url)
    ok = build_post(host(stub_url), "/v1/models/fast/classify?top_k=1", JPEG)
    bad = build_post(host(stub_url), "/v1/models/fast/classify", b"not a jpeg")
    status, body = await pool.request(ok)
    assert status == 200 and json.loads(body)["model"] == "fast"
    status, body = await pool.request(bad)
    assert status == 415 and "JPEG" in json.loads(body)["detail"]
    assert len(pool._idle) == 1  # both went over the same connection
    await pool.close()


async def test_loops_count_every_request_and_its_status(stub_url: str) -> None:
    pool = RawPool(stub_url, max_connections=4)
    flaky = [build_post(host(stub_url), "/v1/models/flaky/classify", JPEG)]
    samples, wall = await closed_loop(pool, flaky, concurrency=3, seconds=0.3)
    statuses = {s.status for s in samples}
    assert statuses == {200, 503} and wall >= 0.3
    samples, _ = await open_loop(pool, flaky, [0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    assert len(samples) == 6 and sum(s.status == 503 for s in samples) == 2
    assert all(s.latency_s > 0 for s in samples)
    await pool.close()


async def test_no_server_is_a_transport_failure_not_an_exception(dead_url: str) -> None:
    pool = RawPool(dead_url)
    samples, _ = await open_loop(pool, [build_post(host(dead_url), "/", JPEG)], [0.0])
    assert [s.status for s in samples] == ["transport"]


async def test_the_answer_parser_reads_length_and_close_and_refuses_what_it_cannot_read() -> None:
    def reader(data: bytes) -> asyncio.StreamReader:
        r = asyncio.StreamReader()
        r.feed_data(data)
        r.feed_eof()
        return r

    got = await read_answer(
        reader(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno")
    )
    assert got == (503, b"no", False)
    assert await read_answer(reader(b"HTTP/1.1 204 No Content\r\n\r\n")) == (204, b"", True)
    with pytest.raises(ProtocolError, match="chunked"):
        await read_answer(reader(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
    with pytest.raises(ProtocolError, match="status line"):
        await read_answer(reader(b"SSH-2.0-OpenSSH\r\n"))


def test_only_plain_http_urls() -> None:
    with pytest.raises(ValueError, match="http://"):
        RawPool("https://127.0.0.1:1")


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    # A server that closes each connection shortly after answering, as a keep-alive timeout does.
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    pool = RawPool(url)
    raw = build_post(host(url), "/x", JPEG)
    assert await pool.request(raw) == (200, b"ok")
    await asyncio.sleep(0.3)  # the server has closed the idle connection
    assert await pool.request(raw) == (200, b"ok")  # on a new one, not a transport error
    expiring = RawPool(url, keepalive_expiry_s=0.0)
    assert await expiring.request(raw) == (200, b"ok")
    assert len(expiring._idle) == 1 and expiring._reusable() is None and not expiring._idle
    await pool.close()
    await expiring.close()
    server.close()
    await server.wait_closed()
