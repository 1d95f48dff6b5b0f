"""Fixtures: tiny JPEGs made with Pillow in tmp_path, and a stub HTTP server on a free loopback port."""

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.loadtest import free_port, make_jpegs


@pytest.fixture
def jpeg_dir(tmp_path: Path) -> Path:
    return make_jpegs(tmp_path / "images")


def stub_app() -> FastAPI:
    """Answers like freqserve: ``fast`` at once, ``slow`` after 20 ms, ``serial`` one request at a time
    (50 ms each: a server that cannot keep up), ``flaky`` 503 on every third request, ``moved`` (not
    listed) redirects elsewhere."""
    app = FastAPI()
    lock = asyncio.Lock()
    counter = {"flaky": 0}

    @app.get("/v1/models")
    async def models() -> dict:
        return {"models": [{"name": n, "provider": "stub"} for n in ("fast", "slow", "serial", "flaky")]}

    @app.post("/v1/models/{name}/classify")
    async def classify(name: str, request: Request) -> JSONResponse:
        body = await request.body()
        if request.headers.get("content-type") != "image/jpeg" or body[:2] != b"\xff\xd8":
            return JSONResponse({"detail": "expected a JPEG"}, status_code=415)
        if int(request.query_params.get("top_k", "1")) > 7:
            return JSONResponse({"detail": "top_k must be between 1 and 7"}, status_code=422)
        if name == "slow":
            await asyncio.sleep(0.02)
        elif name == "serial":
            async with lock:
                await asyncio.sleep(0.05)
        elif name == "flaky":
            counter["flaky"] += 1
            if counter["flaky"] % 3 == 0:
                return JSONResponse({"detail": "queue full"}, status_code=503, headers={"Retry-After": "1"})
        elif name == "moved":  # not listed; a client must not follow it (192.0.2.0/24 is TEST-NET-1)
            return JSONResponse({}, status_code=307, headers={"Location": "http://192.0.2.1/v1/models/x/classify"})
        elif name != "fast":
            return JSONResponse({"detail": f"unknown model {name!r}"}, status_code=404)
        answer = {
            "model": name,
            "predictions": [{"label": "x", "class_id": "n0", "index": 0, "score": 1.0}],
            "input_bytes": 1000 if name == "fast" else 3000,
            "timings_ms": {"read": 0.1, "queue": 0.2, "infer": 0.3, "total": 0.6},
        }
        return JSONResponse(answer)

    return app


@pytest.fixture(scope="session")
def stub_url() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(stub_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("stub server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"
