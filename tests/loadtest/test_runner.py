"""The request layer: answer parsing, model discovery shapes, failure tags, and the loops on a stub server."""

import asyncio
from pathlib import Path

import httpx
import pytest

from loadtest.cli import Config, make_client
from loadtest.images import load_payloads
from loadtest.runner import (
    Answer,
    classify_path,
    closed_loop,
    failure_tag,
    model_names,
    model_summary,
    parse_answer,
)


def test_classify_path_quotes_the_model_name() -> None:
    assert classify_path("dct24_resnet") == "/v1/models/dct24_resnet/classify"
    assert classify_path("a/b c") == "/v1/models/a%2Fb%20c/classify"


def test_parse_answer_reads_input_bytes_and_timings() -> None:
    body = b'{"input_bytes": 9312, "timings_ms": {"read": 1.5, "queue": 2, "infer": 3.25, "total": 7, "x": "y"}}'
    assert parse_answer(200, body) == Answer(9312, {"read": 1.5, "queue": 2.0, "infer": 3.25, "total": 7.0})


def test_parse_answer_reads_drnet_resolution_and_gflops() -> None:
    body = b'{"input_bytes": 27648, "timings_ms": {}, "resolution": 96, "gflops": 1.25}'
    assert parse_answer(200, body) == Answer(27648, {}, resolution=96, gflops=1.25)


@pytest.mark.parametrize(
    ("status", "body"),
    [(503, b'{"detail": "queue full"}'), (200, b"not json"), (200, b"[1, 2]"), (200, b'{"input_bytes": true}')],
)
def test_parse_answer_tolerates_anything_else(status: int, body: bytes) -> None:
    assert parse_answer(status, body) == Answer()


@pytest.mark.parametrize(
    "doc",
    [
        {"models": [{"name": "a", "kind": "dct", "provider": "CUDAExecutionProvider"}, {"name": "b"}]},
        {"models": ["a", "b"]},
        ["a", {"name": "b"}],
        {"data": [{"id": "a"}, {"id": "b"}]},
        {"models": {"a": {"kind": "dct"}, "b": {}}},
    ],
)
def test_model_names_from_the_usual_shapes(doc: object) -> None:
    assert model_names(doc) == ["a", "b"]


def test_model_summary_keeps_kind_and_provider_only() -> None:
    doc = {"models": [{"name": "a", "kind": "dct", "provider": "CPU", "labels": ["x"] * 1000}]}
    assert model_summary(doc) == [{"name": "a", "kind": "dct", "provider": "CPU"}]
    assert model_summary("nonsense") == []


def test_failure_tags() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:1/")
    assert failure_tag(httpx.ReadTimeout("t", request=request)) == "timeout"
    assert failure_tag(httpx.ConnectError("c", request=request)) == "connect"
    assert failure_tag(httpx.RemoteProtocolError("p", request=request)) == "protocol"
    assert failure_tag(httpx.ReadError("r", request=request)) == "transport"


def test_redirects_are_counted_not_followed(stub_url: str, jpeg_dir: Path) -> None:
    async def go() -> list:
        async with make_client(Config(url=stub_url, images=jpeg_dir, timeout_s=5)) as client:
            samples, _ = await closed_loop(client, "moved", load_payloads(jpeg_dir), 2, 6, None)
        return samples

    samples = asyncio.run(go())
    assert [s.status for s in samples] == [307] * 6
    assert all(s.latency_s < 1 for s in samples)  # nothing waited on the unroutable address


def test_unreachable_server_gives_connect_tags_not_exceptions(dead_url: str, jpeg_dir: Path) -> None:
    async def go() -> list:
        async with httpx.AsyncClient(base_url=dead_url, trust_env=False, timeout=5) as client:
            samples, _ = await closed_loop(client, "m", load_payloads(jpeg_dir), 1, 3, None)
        return samples

    assert [s.status for s in asyncio.run(go())] == ["connect"] * 3
