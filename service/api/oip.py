"""The Open Inference Protocol (KServe v2) REST wire format, as pure functions: request bodies in (JSON, or
JSON + binary tensor data as Triton's extension defines it), response bodies out.

One input, ``image``: a ``BYTES`` tensor of shape ``[N]``, each element one JPEG file. In the binary form each
element is a 4-byte little-endian length followed by that many bytes (Triton's BYTES serialization); in plain
JSON each element is the file base64-encoded (raw JPEG bytes are not valid JSON strings).
One output, ``probabilities``: ``FP32`` ``[N, classes]``; with ``parameters: {"classification": k}`` (Triton's
classification extension) it is ``BYTES`` ``[N, k]`` instead, each element ``"<score>:<index>:<label>"``.
"""

import base64
import binascii
import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.errors import RequestError

INPUT = "image"
OUTPUT = "probabilities"
HEADER_LENGTH = "Inference-Header-Content-Length"
EXTENSIONS = ("binary_tensor_data", "classification")


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool
    classification: int  # 0: the probabilities themselves; k > 0: the top k as "score:index:label"


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    images: list[bytes]
    outputs: list[RequestedOutput]


def _bad(detail: str) -> RequestError:
    return RequestError(400, detail)


def _split(body: bytes, header_length: str | None) -> tuple[dict[str, Any], bytes]:
    if header_length is None:
        json_part, binary = body, b""
    else:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise _bad(f"{HEADER_LENGTH} must be the byte length of the JSON header, got {header_length!r}")
        n = int(header_length)
        json_part, binary = body[:n], body[n:]
    try:
        doc = json.loads(json_part)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _bad(f"the inference request header is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise _bad("the inference request must be a JSON object with an 'inputs' list")
    return doc, binary


def _bytes_elements(raw: bytes, count: int) -> list[bytes]:
    """Triton's BYTES tensor serialization: per element a uint32 little-endian length, then the bytes."""
    out, pos = [], 0
    for i in range(count):
        if pos + 4 > len(raw):
            raise _bad(f"input {INPUT!r}: binary data ends before element {i} of {count}")
        (n,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        if pos + n > len(raw):
            raise _bad(f"input {INPUT!r}: element {i} says {n} bytes but the binary data ends first")
        out.append(raw[pos : pos + n])
        pos += n
    if pos != len(raw):
        raise _bad(f"input {INPUT!r}: {len(raw) - pos} bytes of binary data after its {count} elements")
    return out


def _json_elements(data: Any, count: int) -> list[bytes]:
    if not isinstance(data, list) or len(data) != count or not all(isinstance(d, str) for d in data):
        raise _bad(f"input {INPUT!r}: 'data' must be a list of {count} base64 strings (one JPEG file each)")
    try:
        return [base64.b64decode(d, validate=True) for d in data]
    except binascii.Error:
        raise _bad(f"input {INPUT!r}: 'data' elements must be base64-encoded JPEG files") from None


def _outputs(doc: dict[str, Any], binary_default: bool) -> list[RequestedOutput]:
    requested = doc.get("outputs") or [{"name": OUTPUT}]
    out = []
    for o in requested:
        if not isinstance(o, dict) or o.get("name") != OUTPUT:
            raise _bad(f"unknown output {o.get('name') if isinstance(o, dict) else o!r}: expected {OUTPUT!r}")
        params = o.get("parameters") or {}
        k = params.get("classification", 0)
        if not isinstance(k, int) or isinstance(k, bool) or k < 0:
            raise _bad(f"output {OUTPUT!r}: 'classification' must be a non-negative integer, got {k!r}")
        out.append(RequestedOutput(OUTPUT, bool(params.get("binary_data", binary_default)), k))
    return out


def parse_infer_request(body: bytes, header_length: str | None, max_images: int) -> InferRequest:
    """An infer request body -> its JPEG files and what to answer. Raises ``RequestError`` (400) when the
    body does not follow the protocol."""
    doc, binary = _split(body, header_length)
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise _bad(f"expected exactly one input, {INPUT!r} (BYTES, shape [N]: one JPEG file per element)")
    spec = inputs[0]
    if spec.get("name") != INPUT or spec.get("datatype") != "BYTES":
        raise _bad(f"expected input {INPUT!r} of datatype BYTES, got {spec.get('name')!r} ({spec.get('datatype')!r})")
    shape = spec.get("shape")
    if not (isinstance(shape, list) and len(shape) == 1 and isinstance(shape[0], int) and shape[0] >= 1):
        raise _bad(f"input {INPUT!r}: shape must be [N] with N >= 1 (a batch of JPEG files), got {shape!r}")
    count = shape[0]
    if count > max_images:
        raise _bad(f"input {INPUT!r}: at most {max_images} images per request, got {count}")
    size = (spec.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size != len(binary):
            raise _bad(f"input {INPUT!r}: binary_data_size {size!r} but {len(binary)} bytes follow the JSON header")
        images = _bytes_elements(binary, count)
    else:
        images = _json_elements(spec.get("data"), count)
    binary_default = bool((doc.get("parameters") or {}).get("binary_data_output", False))
    rid = doc.get("id")
    return InferRequest(str(rid) if rid is not None else None, images, _outputs(doc, binary_default))


def _bytes_tensor(values: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


def _classes(probs: np.ndarray, k: int, labels: tuple[str, ...]) -> list[bytes]:
    rows = []
    for p in probs:
        top = np.argsort(-p, kind="stable")[:k]
        rows.extend(f"{p[i]:f}:{i}:{labels[i]}".encode() for i in top)
    return rows


def encode_infer_response(
    model: str, request: InferRequest, probs: np.ndarray, labels: tuple[str, ...]
) -> tuple[bytes, dict[str, str]]:
    """The response body and its extra headers: plain JSON, or JSON + binary data when any output asked
    for binary (then ``Inference-Header-Content-Length`` gives the JSON part's length)."""
    n, classes = probs.shape
    outputs, chunks = [], []
    for o in request.outputs:
        if o.classification:
            k = min(o.classification, classes)
            values = _classes(probs, k, labels)
            meta: dict[str, Any] = {"name": o.name, "datatype": "BYTES", "shape": [n, k]}
            raw = _bytes_tensor(values)
            json_data: list[Any] = [v.decode() for v in values]
        else:
            meta = {"name": o.name, "datatype": "FP32", "shape": [n, classes]}
            raw = probs.astype("<f4").tobytes()
            json_data = [float(x) for x in probs.ravel()]
        if o.binary:
            meta["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            meta["data"] = json_data
        outputs.append(meta)
    doc: dict[str, Any] = {"model_name": model, "model_version": "1", "outputs": outputs}
    if request.id is not None:
        doc["id"] = request.id
    header = json.dumps(doc).encode()
    if not chunks:
        return header, {"content-type": "application/json"}
    return header + b"".join(chunks), {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(header))}
