"""The Open Inference Protocol wire format: requests in (JSON and binary), responses out."""

import base64
import json
import struct

import numpy as np
import pytest

from service.api.oip import HEADER_LENGTH, encode_infer_response, parse_infer_request
from service.errors import RequestError


def _binary_request(images: list[bytes], outputs: list[dict] | None = None) -> tuple[bytes, str]:
    raw = b"".join(struct.pack("<I", len(i)) + i for i in images)
    doc = {
        "inputs": [
            {"name": "image", "datatype": "BYTES", "shape": [len(images)], "parameters": {"binary_data_size": len(raw)}}
        ],
        **({"outputs": outputs} if outputs else {}),
    }
    header = json.dumps(doc).encode()
    return header + raw, str(len(header))


def test_binary_bytes_tensor_gives_each_file() -> None:
    body, n = _binary_request([b"\xff\xd8one", b"", b"\xff\xd8three"])
    req = parse_infer_request(body, n, 8)
    assert req.images == [b"\xff\xd8one", b"", b"\xff\xd8three"]
    assert [(o.name, o.binary, o.classification) for o in req.outputs] == [("probabilities", False, 0)]


def test_json_elements_are_base64_files() -> None:
    doc = {
        "id": "r1",
        "inputs": [
            {"name": "image", "datatype": "BYTES", "shape": [2], "data": [base64.b64encode(b"ab").decode(), ""]}
        ],
        "outputs": [{"name": "probabilities", "parameters": {"classification": 3, "binary_data": True}}],
    }
    req = parse_infer_request(json.dumps(doc).encode(), None, 8)
    assert (req.id, req.images) == ("r1", [b"ab", b""])
    assert [(o.binary, o.classification) for o in req.outputs] == [(True, 3)]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"inputs": []}, "exactly one input"),
        ({"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["AA=="]}]}, "expected input 'image'"),
        ({"inputs": [{"name": "image", "datatype": "FP32", "shape": [1], "data": [1.0]}]}, "datatype BYTES"),
        ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [0], "data": []}]}, "shape must be"),
        ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [9], "data": ["AA=="] * 9}]}, "at most 8"),
        ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2], "data": ["AA=="]}]}, "list of 2"),
        ({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["%%%"]}]}, "base64"),
        (
            {
                "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["AA=="]}],
                "outputs": [{"name": "logits"}],
            },
            "unknown output 'logits'",
        ),
    ],
)
def test_protocol_violations_are_400_with_the_reason(doc: dict, message: str) -> None:
    with pytest.raises(RequestError, match=message) as e:
        parse_infer_request(json.dumps(doc).encode(), None, 8)
    assert e.value.status_code == 400


@pytest.mark.parametrize(
    ("cut", "message"),
    [(3, "ends before element"), (8, "says 5 bytes"), (-1, "after its")],
)
def test_truncated_or_padded_binary_data_is_400(cut: int, message: str) -> None:
    raw = struct.pack("<I", 5) + b"abcde"
    raw = raw[:cut] if cut > 0 else raw + b"x"
    doc = {
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(raw)}}]
    }
    header = json.dumps(doc).encode()
    with pytest.raises(RequestError, match=message):
        parse_infer_request(header + raw, str(len(header)), 8)


def test_header_length_must_fit_the_body() -> None:
    with pytest.raises(RequestError, match=HEADER_LENGTH):
        parse_infer_request(b"{}", "99", 8)
    with pytest.raises(RequestError, match="not valid JSON"):
        parse_infer_request(b"{not json", None, 8)


PROBS = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]], dtype=np.float32)


def test_json_response_holds_the_probabilities() -> None:
    req = parse_infer_request(*_binary_request([b"a", b"b"]), 8)
    content, headers = encode_infer_response("m", req, PROBS, ("x", "y", "z"))
    assert headers == {"content-type": "application/json"}
    doc = json.loads(content)
    out = doc["outputs"][0]
    assert (doc["model_name"], out["datatype"], out["shape"]) == ("m", "FP32", [2, 3])
    np.testing.assert_allclose(out["data"], PROBS.ravel(), rtol=1e-6)


def test_binary_classification_response_is_triton_score_index_label() -> None:
    req = parse_infer_request(
        *_binary_request(
            [b"a", b"b"], [{"name": "probabilities", "parameters": {"classification": 2, "binary_data": True}}]
        ),
        8,
    )
    content, headers = encode_infer_response("m", req, PROBS, ("x", "y", "z"))
    n = int(headers[HEADER_LENGTH])
    meta = json.loads(content[:n])["outputs"][0]
    assert (meta["datatype"], meta["shape"]) == ("BYTES", [2, 2])
    raw, values, pos = content[n:], [], 0
    assert len(raw) == meta["parameters"]["binary_data_size"]
    while pos < len(raw):
        (k,) = struct.unpack_from("<I", raw, pos)
        values.append(raw[pos + 4 : pos + 4 + k].decode())
        pos += 4 + k
    assert values == ["0.700000:1:y", "0.200000:2:z", "0.500000:0:x", "0.300000:2:z"]
