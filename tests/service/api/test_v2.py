"""``/v2`` (Open Inference Protocol) against a live server, through the real client people use:
``tritonclient.http``. The answers must agree with our own ``/v1`` endpoint."""

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.support.jpegs import jpeg
from tests.support.onnx_models import DCT, RGB
from tests.support.server import Server, running

COLORS = [(220, 20, 30), (20, 200, 40), (30, 40, 210), (120, 120, 120)]


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(model_dir, tmp_path_factory.mktemp("v2") / "stderr.log") as s:
        yield s


@pytest.fixture
def client(server: Server) -> Iterator[triton.InferenceServerClient]:
    c = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    yield c
    c.close()


def _images() -> list[bytes]:
    return [jpeg(color=c) for c in COLORS]


def _batch(images: list[bytes]) -> triton.InferInput:
    x = triton.InferInput("image", [len(images)], "BYTES")
    x.set_data_from_numpy(np.array(images, dtype=np.object_), binary_data=True)
    return x


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live() and client.is_server_ready()
    meta = client.get_server_metadata()
    assert meta["name"] == "freqserve" and {"binary_tensor_data", "classification"} <= set(meta["extensions"])
    model = client.get_model_metadata("tiny-dct")
    assert model["versions"] == ["1"] and model["platform"] == "freqserve_dct"
    assert model["inputs"] == [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    assert model["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, DCT.num_classes]}]
    assert client.is_model_ready("tiny-rgb") and client.is_model_ready("tiny-rgb", model_version="1")
    assert not client.is_model_ready("tiny-rgb", model_version="2")


@pytest.mark.parametrize("model", ["tiny-dct", "tiny-rgb", "tiny-drnet"])
def test_batch_infer_matches_our_own_endpoint(client: triton.InferenceServerClient, server: Server, model: str) -> None:
    images = _images()
    result = client.infer(model, [_batch(images)], outputs=[triton.InferRequestedOutput("probabilities")])
    probs = result.as_numpy("probabilities")
    assert probs.shape == (len(images), DCT.num_classes) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    for i, data in enumerate(images):
        r = httpx.post(
            f"{server.url}/v1/models/{model}/classify", content=data, headers={"content-type": "image/jpeg"}
        ).json()
        assert int(np.argmax(probs[i])) == r["predictions"][0]["index"]
        assert float(probs[i].max()) == pytest.approx(r["predictions"][0]["score"], abs=1e-5)


def test_classification_extension_gives_score_index_label(client: triton.InferenceServerClient) -> None:
    out = triton.InferRequestedOutput("probabilities", class_count=2)
    labels = client.infer("tiny-rgb", [_batch(_images()[:3])], outputs=[out]).as_numpy("probabilities")
    assert labels.shape == (3, 2)
    score, index, label = labels[0, 0].decode().split(":", 2)
    assert (int(index), label) == (0, RGB.labels[0])  # the red photo
    assert float(score) > float(labels[0, 1].decode().split(":")[0])


def test_a_bad_jpeg_in_the_batch_fails_the_request_naming_it(client: triton.InferenceServerClient) -> None:
    images = _images()
    images[2] = images[2][: len(images[2]) // 3]  # truncated
    with pytest.raises(InferenceServerException) as e:
        client.infer("tiny-dct", [_batch(images)])
    assert e.value.status() == "422" and "element 2" in e.value.message()
    assert client.is_server_ready()  # and the server is fine


def test_unknown_model_is_404_with_an_error_object(server: Server) -> None:
    r = httpx.get(f"{server.url}/v2/models/resnet9000")
    assert r.status_code == 404 and "unknown model 'resnet9000'" in r.json()["error"]


def test_plain_json_infer_with_base64_files(server: Server) -> None:
    images = _images()[:2]
    body = {
        "id": "abc",
        "inputs": [
            {
                "name": "image",
                "datatype": "BYTES",
                "shape": [2],
                "data": [base64.b64encode(i).decode() for i in images],
            }
        ],
    }
    r = httpx.post(f"{server.url}/v2/models/tiny-rgb/versions/1/infer", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["id"] == "abc" and doc["outputs"][0]["shape"] == [2, RGB.num_classes]
    assert r.headers["x-execution-provider"] == "CPUExecutionProvider"


def test_a_deadline_that_cannot_be_met_answers_504_in_the_protocol_format(server: Server) -> None:
    body = {
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [base64.b64encode(jpeg()).decode()]}]
    }
    url = f"{server.url}/v2/models/tiny-dct/infer"
    r = httpx.post(url, json=body, headers={"X-Request-Timeout": "0.000001"})  # passes before any work starts
    assert r.status_code == 504
    assert r.json() == {"error": "deadline exceeded: not computed within the X-Request-Timeout of 0.000001 s"}
    assert httpx.post(url, json=body, headers={"X-Request-Timeout": "30"}).status_code == 200
    r = httpx.post(url, json=body, headers={"X-Request-Timeout": "soon"})
    assert r.status_code == 422 and "X-Request-Timeout must be a number of seconds" in r.json()["error"]
