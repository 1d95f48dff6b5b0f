"""A real ``python -m service`` (uvicorn) on a free loopback port: concurrency, batching, logs, shutdown."""

import asyncio
import io
import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from tests.support.jpegs import BAD_INPUT_STATUS, bad_inputs, jpeg
from tests.support.server import Server, launch, running, stop, wait_ready

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
JPEG = {"content-type": "image/jpeg"}


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "stderr.log"
    with running(model_dir, log, FREQSERVE_MAX_BATCH="8", FREQSERVE_MAX_DELAY_MS="20") as s:
        yield s


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        yield c


def batch_stats(metrics_text: str, model: str) -> tuple[float, float]:
    """(number of batches, samples in them) of ``model``'s classifier graph."""
    count = total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "freqserve_batch_size":
            continue
        for s in family.samples:
            if s.labels.get("model") == model:
                if s.name.endswith("_count"):
                    count = s.value
                elif s.name.endswith("_sum"):
                    total = s.value
    return count, total


async def test_concurrent_requests_form_batches(client: httpx.AsyncClient) -> None:
    before = batch_stats((await client.get("/metrics")).text, "tiny-dct")
    data = [jpeg(color=(10 * i, 100, 200 - 10 * i), size=(96 + i, 80)) for i in range(16)]
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> httpx.Response:
        async with sem:
            return await client.post("/v1/models/tiny-dct/classify", content=data[i % 16], headers=JPEG)

    responses = await asyncio.gather(*(one(i) for i in range(48)))
    assert [r.status_code for r in responses] == [200] * 48
    assert len({r.headers["x-request-id"] for r in responses}) == 48
    after = batch_stats((await client.get("/metrics")).text, "tiny-dct")
    batches, samples = after[0] - before[0], after[1] - before[1]
    assert samples == 48
    assert batches < 48, "no two requests ever shared a batch"


async def test_other_models_answer_alongside(client: httpx.AsyncClient) -> None:
    async def one(model: str) -> httpx.Response:
        return await client.post(f"/v1/models/{model}/classify", content=jpeg(), headers=JPEG, params={"top_k": 1})

    responses = await asyncio.gather(*(one(m) for m in ("tiny-rgb", "tiny-drnet", "tiny-dct") * 6))
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["model"] for r in responses} == {"tiny-rgb", "tiny-drnet", "tiny-dct"}


async def test_bad_input_matrix_leaves_the_server_healthy(client: httpx.AsyncClient, server: Server) -> None:
    expected = BAD_INPUT_STATUS
    for model in ("tiny-dct", "tiny-rgb", "tiny-drnet"):
        for case, data in bad_inputs().items():
            r = await client.post(f"/v1/models/{model}/classify", content=data, headers=JPEG)
            assert r.status_code == expected[case], (model, case, r.text)
    assert server.proc.poll() is None
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.post("/v1/models/tiny-dct/classify", content=jpeg(), headers=JPEG)).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'status="500"' not in metrics


async def test_logs_are_json_lines_with_the_request_id(client: httpx.AsyncClient, server: Server) -> None:
    r = await client.post("/v1/models/tiny-rgb/classify", content=jpeg(), headers=JPEG | {"X-Request-ID": "trace-7"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-7"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = server.log_lines()  # every line must parse as JSON
        mine = [x for x in lines if x.get("request_id") == "trace-7" and x["msg"] == "request"]
        if mine:
            break
        time.sleep(0.05)
    assert mine and mine[0]["status"] == 200 and mine[0]["path"] == "/v1/models/tiny-rgb/classify"
    assert any(x["msg"] == "model loaded" and x.get("provider") == "CPUExecutionProvider" for x in lines)


async def test_graceful_shutdown_lets_in_flight_requests_finish(model_dir: Path, tmp_path: Path) -> None:
    server = launch(model_dir, tmp_path / "stderr.log")
    try:
        wait_ready(server)
        data = noise_jpeg()  # ~40 kB: about a second of slow upload
        started = asyncio.Event()

        async def slow_upload() -> AsyncIterator[bytes]:
            for i in range(0, len(data), 2048):
                yield data[i : i + 2048]
                started.set()
                await asyncio.sleep(0.05)

        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            assert (await c.get("/healthz")).status_code == 200  # the keep-alive connection is accepted
            pending = asyncio.ensure_future(c.post("/v1/models/tiny-dct/classify", content=slow_upload(), headers=JPEG))
            await started.wait()
            await asyncio.sleep(0.2)  # the upload is under way
            server.proc.send_signal(signal.SIGTERM)
            r = await pending
        assert r.status_code == 200, r.text
        lines = [x["msg"] for x in server.log_lines()]
        assert lines.index("Shutting down") < lines.index("request"), "the request was not in flight at SIGTERM"
        # uvicorn re-raises the signal once it has shut down cleanly, so the process ends "by SIGTERM".
        assert server.proc.wait(30) in (0, -signal.SIGTERM)
        msgs = [x["msg"] for x in server.log_lines()]
        assert "service stopped" in msgs
    finally:
        stop(server)


def noise_jpeg() -> bytes:
    rgb = np.random.default_rng(0).integers(0, 256, (160, 200, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_corrupt_model_file_stops_start_up_with_a_clear_message(model_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(model_dir, models)
    bad = models / "tiny-dct" / "model.onnx"
    bad.write_bytes(b"this is not an onnx file")
    server = launch(models, tmp_path / "stderr.log")
    try:
        code = server.proc.wait(60)
    finally:
        stop(server)
    assert code != 0
    errors = [x["msg"] for x in server.log_lines() if x["level"] == "ERROR"]
    assert any(m.startswith(f"start-up failed: cannot load ONNX model {bad}: ") for m in errors), errors


def test_invalid_setting_stops_start_up_naming_it(model_dir: Path, tmp_path: Path) -> None:
    server = launch(model_dir, tmp_path / "stderr.log", FREQSERVE_MAX_BATCH="0")
    try:
        code = server.proc.wait(60)
    finally:
        stop(server)
    assert code == 2
    errors = [x["msg"] for x in server.log_lines() if x["level"] == "ERROR"]
    assert errors == ["invalid settings: FREQSERVE_MAX_BATCH='0': Input should be greater than or equal to 1"]
