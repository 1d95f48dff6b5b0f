"""HTTP API, in-process: every status code with its exact ``detail``, and the shape of good answers."""

import json
import logging
import os
import random
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from inputs.contract import InputContract
from inputs.graphs import CLASSIFIER
from inputs.kinds import entry_graph
from service.reader import EXPECTED, EXPECTED_CHROMA
from tests.support.app import make_settings, serve
from tests.support.jpegs import BAD_INPUT_STATUS, bad_inputs, jpeg, png
from tests.support.onnx_models import DCT, DRNET, RGB

pytestmark = pytest.mark.anyio

JPEG = {"content-type": "image/jpeg"}
UNSUPPORTED = "expected an 8-bit baseline or progressive JPEG (YCbCr or grayscale)"
BODY = "expected the raw JPEG with Content-Type: image/jpeg, or multipart/form-data with a 'file' field"
KEY_HOW = "send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"


@pytest.fixture
async def client(model_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_settings(model_dir, MAX_BODY_BYTES=200_000)) as (_, c):
        yield c


async def classify(client: httpx.AsyncClient, model: str, data: bytes, **params: object) -> httpx.Response:
    return await client.post(f"/v1/models/{model}/classify", content=data, headers=JPEG, params=params)


def assert_error(r: httpx.Response, status: int, detail: str) -> None:
    assert (r.status_code, r.json()) == (status, {"detail": detail})


# --- 200 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "contract"), [("tiny-dct", DCT), ("tiny-rgb", RGB)])
async def test_classify_answers_predictions_bytes_and_timings(
    client: httpx.AsyncClient, model: str, contract: InputContract
) -> None:
    r = await classify(client, model, jpeg(color=(220, 20, 30)))
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["x-execution-provider"] == "CPUExecutionProvider"
    assert set(body) == {"model", "predictions", "input_bytes", "timings_ms"}
    assert body["model"] == model
    assert body["input_bytes"] == entry_graph(contract).input_bytes
    preds = body["predictions"]
    assert len(preds) == 5
    assert preds[0]["index"] == 0  # the fixture models score red as class 0
    for p in preds:
        assert (p["label"], p["class_id"]) == (contract.labels[p["index"]], contract.class_ids[p["index"]])
    scores = [p["score"] for p in preds]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1 + 1e-9
    t = body["timings_ms"]
    assert set(t) == {"read", "queue", "infer", "total"}
    assert all(v >= 0 for v in t.values()) and t["total"] >= t["read"]


async def test_multipart_upload_equals_raw_body(client: httpx.AsyncClient) -> None:
    data = jpeg(color=(30, 200, 60))
    raw = await classify(client, "tiny-rgb", data, top_k=3)
    form = await client.post(
        "/v1/models/tiny-rgb/classify", params={"top_k": 3}, files={"file": ("dog.jpg", data, "image/jpeg")}
    )
    assert raw.status_code == form.status_code == 200
    assert raw.json()["predictions"] == form.json()["predictions"]
    assert [p["index"] for p in raw.json()["predictions"]][0] == 1  # green


@pytest.mark.parametrize(("color", "resolution"), [((250, 250, 250), 48), ((20, 20, 120), 32)])
async def test_drnet_reports_its_resolution_and_cost(
    client: httpx.AsyncClient, color: tuple[int, int, int], resolution: int
) -> None:
    def path_batches() -> dict[str, float]:
        return {
            s.labels["graph"]: s.value
            for f in text_string_to_metric_families(metrics.text)
            if f.name == "freqserve_batch_size"
            for s in f.samples
            if s.name.endswith("_count") and s.labels["model"] == "tiny-drnet"
        }

    metrics = await client.get("/metrics")
    before = path_batches()
    r = await classify(client, "tiny-drnet", jpeg(color=color), top_k=2)
    assert r.status_code == 200, r.text
    metrics = await client.get("/metrics")
    ran = {graph for graph, n in path_batches().items() if n > before[graph]}
    assert ran == {"predictor", f"path_{resolution}"}  # the predictor, then only the chosen path
    body = r.json()
    assert body["resolution"] == resolution
    assert body["gflops"] == pytest.approx(0.001 + resolution / 100)
    assert body["input_bytes"] == 3 * DRNET.thumbnail**2 * 4 + resolution * resolution * 3
    assert len(body["predictions"]) == 2


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert r.headers["x-request-id"] == "req-42"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(r.headers["x-request-id"]) == 32


async def test_models_lists_kind_contract_labels_and_provider(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/models")
    assert r.status_code == 200
    models = {m["name"]: m for m in r.json()["models"]}
    assert sorted(models) == ["tiny-dct", "tiny-drnet", "tiny-rgb"]
    for name, contract in (("tiny-dct", DCT), ("tiny-rgb", RGB), ("tiny-drnet", DRNET)):
        m = models[name]
        assert m["kind"] == contract.kind
        assert InputContract.from_json(json.dumps(m["contract"])) == contract
        assert m["labels"] == list(contract.labels) and m["class_ids"] == list(contract.class_ids)
        assert m["provider"] == "CPUExecutionProvider"
    assert models["tiny-drnet"]["graphs"] == ["path_32", "path_48", "predictor"]
    one = await client.get("/v1/models/tiny-dct")
    assert one.json() == models["tiny-dct"]


async def test_health_docs_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/models/{name}/classify" in spec["paths"]
    await classify(client, "tiny-dct", jpeg())
    text = (await client.get("/metrics")).text
    for name in (
        'freqserve_requests_total{model="tiny-dct",status="200"}',
        'freqserve_stage_seconds_bucket{le="0.001",model="tiny-dct",stage="read"}',
        'freqserve_stage_seconds_count{model="tiny-dct",stage="queue"}',
        'freqserve_stage_seconds_count{model="tiny-dct",stage="infer"}',
        'freqserve_batch_size_count{graph="classifier",model="tiny-dct"}',
        'freqserve_runtime_input_bytes_sum{model="tiny-dct"}',
        'freqserve_queue_depth{graph="classifier",model="tiny-dct"}',
        'freqserve_model_ready{model="tiny-drnet"} 1.0',
    ):
        assert name in text, name


# --- 4xx ---------------------------------------------------------------------------------------------


async def test_404_unknown_model(client: httpx.AsyncClient) -> None:
    r = await classify(client, "resnet9000", jpeg())
    assert_error(
        r,
        404,
        "unknown model 'resnet9000': expected one of ['tiny-dct', 'tiny-drnet', 'tiny-rgb'] (see GET /v1/models)",
    )
    assert_error(
        await client.get("/v1/models/resnet9000"),
        404,
        "unknown model 'resnet9000': expected one of ['tiny-dct', 'tiny-drnet', 'tiny-rgb'] (see GET /v1/models)",
    )


async def test_413_content_length_over_the_limit(client: httpx.AsyncClient) -> None:
    r = await classify(client, "tiny-dct", b"\xff\xd8\xff" + bytes(300_000))
    assert_error(r, 413, "request body is larger than the limit of 200000 bytes")


async def test_413_enforced_while_streaming(client: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked upload of 6.4 MB
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b"\xff\xd8\xff" + bytes(64 * 1024 - 3)

    r = await client.post("/v1/models/tiny-dct/classify", content=chunks(), headers=JPEG)
    assert_error(r, 413, "request body is larger than the limit of 200000 bytes")
    assert sent <= 5, f"the server read {sent} chunks before refusing"


async def test_413_multipart_over_the_limit(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/models/tiny-dct/classify", files={"file": ("a.jpg", bytes(300_000), "image/jpeg")})
    assert_error(r, 413, "request body is larger than the limit of 200000 bytes")


async def test_413_too_many_pixels(model_dir: Path) -> None:
    async with serve(make_settings(model_dir, MAX_PIXELS=1000)) as (_, c):
        r = await classify(c, "tiny-rgb", jpeg(size=(80, 64)))
    assert_error(r, 413, "JPEG too large: image is 80x64 = 5120 pixels; the limit is 1000")


async def test_415_not_a_jpeg_checks_the_bytes_not_the_header(client: httpx.AsyncClient) -> None:
    r = await classify(client, "tiny-dct", png())
    assert_error(r, 415, "not a JPEG: got PNG data; expected JPEG bytes (starting with FF D8 FF)")
    r = await classify(client, "tiny-dct", b"\x00\x01\x02\x03\x04")
    assert_error(
        r, 415, "not a JPEG: got bytes starting with 00 01 02 03; expected JPEG bytes (starting with FF D8 FF)"
    )
    r = await client.post("/v1/models/tiny-dct/classify", files={"file": ("a.jpg", png(), "image/jpeg")})
    assert_error(r, 415, "not a JPEG: got PNG data; expected JPEG bytes (starting with FF D8 FF)")


async def test_415_other_content_type(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/models/tiny-dct/classify", content=jpeg(), headers={"content-type": "text/plain"})
    assert_error(r, 415, f"unsupported Content-Type 'text/plain': {BODY}")


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("cmyk", "unsupported JPEG: CMYK with 4 components (only YCbCr or grayscale)"),
        ("arithmetic", "unsupported JPEG: arithmetic coding"),
        ("12_bit", "unsupported JPEG: Unsupported JPEG data precision 12"),
    ],
)
@pytest.mark.parametrize("model", ["tiny-dct", "tiny-rgb", "tiny-drnet"])
async def test_415_unsupported_jpeg(client: httpx.AsyncClient, model: str, case: str, detail: str) -> None:
    assert_error(await classify(client, model, bad_inputs()[case]), 415, f"{detail}; {UNSUPPORTED}")


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("truncated", "corrupt or truncated JPEG (corrupt JPEG data: Premature end of JPEG file)"),
        (
            "bit_flipped",
            "corrupt or truncated JPEG (corrupt JPEG data: Corrupt JPEG data: premature end of data segment)",
        ),
    ],
)
@pytest.mark.parametrize("model", ["tiny-dct", "tiny-rgb", "tiny-drnet"])
async def test_422_corrupt_jpeg(client: httpx.AsyncClient, model: str, case: str, detail: str) -> None:
    assert_error(await classify(client, model, bad_inputs()[case]), 422, detail)


async def test_413_header_claims_65500_square(client: httpx.AsyncClient) -> None:
    r = await classify(client, "tiny-dct", bad_inputs()["huge_header"])
    assert_error(r, 413, "JPEG too large: image is 65500x65500; the longest side allowed is 30000 px")


async def test_422_empty_body(client: httpx.AsyncClient) -> None:
    assert_error(await classify(client, "tiny-dct", b""), 422, "empty body: expected a JPEG image")


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("0", "top_k must be between 1 and 7 (the number of classes of 'tiny-dct'), got 0"),
        ("8", "top_k must be between 1 and 7 (the number of classes of 'tiny-dct'), got 8"),
        ("abc", "top_k: expected an integer, got 'abc'"),
    ],
)
async def test_422_bad_top_k(client: httpx.AsyncClient, value: str, detail: str) -> None:
    assert_error(await classify(client, "tiny-dct", jpeg(), top_k=value), 422, detail)


async def test_422_multipart_without_file(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/models/tiny-dct/classify", data={"image": "x"}, files={"other": ("a.jpg", jpeg())})
    assert_error(r, 422, f"multipart body has no 'file' field: {BODY}")
    r = await client.post("/v1/models/tiny-dct/classify", data={"file": "not a file"}, files={"x": ("a", b"1")})
    assert_error(r, 422, f"multipart field 'file' is text, not a file upload: {BODY}")


async def test_401_api_key(model_dir: Path) -> None:
    async with serve(make_settings(model_dir, API_KEY="s3cret")) as (_, c):
        assert_error(await classify(c, "tiny-dct", jpeg()), 401, f"missing API key: {KEY_HOW}")
        r = await c.post("/v1/models/tiny-dct/classify", content=jpeg(), headers=JPEG | {"X-API-Key": "nope"})
        assert_error(r, 401, f"invalid API key: {KEY_HOW}")
        assert r.headers["www-authenticate"] == "Bearer"
        assert_error(await c.get("/v1/models"), 401, f"missing API key: {KEY_HOW}")
        ok = await c.post("/v1/models/tiny-dct/classify", content=jpeg(), headers=JPEG | {"X-API-Key": "s3cret"})
        assert ok.status_code == 200
        ok = await c.get("/v1/models", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert (await c.get("/healthz")).status_code == 200  # probes need no key
        assert (await c.get("/readyz")).status_code == 200
        assert (await c.get("/v2/health/live")).status_code == 200  # the v2 probes neither
        assert (await c.get("/v2/health/ready")).status_code == 200
        assert (await c.get("/v2/models/tiny-dct")).status_code == 401
        assert (await c.get("/v2/models/tiny-dct", headers={"X-API-Key": "s3cret"})).status_code == 200


# --- 500: our own bugs only ----------------------------------------------------------------------------


async def test_500_for_our_bug_is_generic_and_logged_with_traceback(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(make_settings(model_dir)) as (app, c):
        batcher = app.state.service.models["tiny-rgb"].batchers[CLASSIFIER]

        def broken(feeds: dict) -> dict:
            raise RuntimeError("bug in our batch code")

        batcher._run_batch = broken
        with caplog.at_level(logging.ERROR, logger="freqserve.http"):
            r = await classify(c, "tiny-rgb", jpeg(), top_k=1)
        rid = r.headers["x-request-id"]
        assert_error(r, 500, f"internal server error (request id {rid})")
        record = next(r for r in caplog.records if r.getMessage() == "unhandled error")
        assert record.exc_info is not None and "bug in our batch code" in str(record.exc_info[1])
        assert (await c.get("/readyz")).status_code == 200
        assert (await classify(c, "tiny-dct", jpeg())).status_code == 200


async def test_bad_input_matrix_never_500_and_server_stays_healthy(client: httpx.AsyncClient) -> None:
    expected = BAD_INPUT_STATUS
    rng = random.Random(7)
    good = jpeg(size=(160, 120))
    for model in ("tiny-dct", "tiny-rgb", "tiny-drnet"):
        for case, data in bad_inputs().items():
            r = await classify(client, model, data)
            assert r.status_code == expected[case], (model, case, r.text)
            assert isinstance(r.json()["detail"], str)
        for _ in range(20):  # random truncations and bit flips: 200 or a 4xx, never a 500
            cut = bytearray(good[: rng.randrange(3, len(good))])
            if rng.random() < 0.5:
                cut[rng.randrange(len(cut))] ^= 1 << rng.randrange(8)
            assert (await classify(client, model, bytes(cut))).status_code in (200, 413, 415, 422)
    assert (await client.get("/readyz")).status_code == 200
    assert (await classify(client, "tiny-dct", good)).status_code == 200


def _cjpeg(tmp_path: Path, *args: str) -> bytes:
    if shutil.which("cjpeg") is None:
        if os.environ.get("CI"):
            pytest.fail("cjpeg (libjpeg-turbo-progs) is missing; `make test` installs it")
        pytest.skip("needs libjpeg-turbo's cjpeg")
    ppm = tmp_path / "x.ppm"
    Image.new("RGB", (64, 48), (200, 30, 40)).save(ppm)
    return subprocess.run(["cjpeg", *args, str(ppm)], capture_output=True, check=True).stdout


@pytest.mark.parametrize("model", ["tiny-dct", "tiny-rgb", "tiny-drnet"])
async def test_one_rule_per_input_property_for_every_kind(
    client: httpx.AsyncClient, tmp_path: Path, model: str
) -> None:
    """Regression: 4:1:1 was 415 on the DCT path at native scale yet 200 once downscaled or on RGB, and an
    RGB-colourspace JPEG was 200 for RGB models yet 415 for DRNet. Now each property has one answer."""
    r = await classify(client, model, _cjpeg(tmp_path, "-sample", "4x1,1x1,1x1"))
    assert r.status_code == 200, r.text  # 4:1:1: chroma at 1/4 width is brought to the 4:2:0 grid exactly
    r = await classify(client, model, _cjpeg(tmp_path, "-sample", "3x1,1x1,1x1"))
    assert_error(r, 415, f"unsupported JPEG: chroma sampling (3, 1, 1)x(1, 1, 1); {EXPECTED_CHROMA}")
    r = await classify(client, model, _cjpeg(tmp_path, "-rgb"))
    assert_error(r, 415, f"unsupported JPEG: RGB colour space (only YCbCr or grayscale); {EXPECTED}")
