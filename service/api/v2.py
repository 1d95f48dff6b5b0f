"""``/v2``: the Open Inference Protocol (KServe v2) REST endpoints, beside our own ``/v1`` API.

What ``tritonclient``, ``perf_analyzer`` and KServe speak: server and model health, model metadata, and
``infer`` on a batch of JPEG files (wire format in ``service.api.oip``). Errors are ``{"error": "..."}`` with
the same status codes as ``/v1`` (a bad JPEG is 422, an overloaded model 503 + Retry-After, and so on).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from service.api.body import limited
from service.api.deadline import deadline_exceeded, request_deadline
from service.api.deps import StateDep, require_api_key
from service.api.models import PROVIDER_HEADER, overloaded
from service.api.oip import EXTENSIONS, HEADER_LENGTH, INPUT, OUTPUT, encode_infer_response, parse_infer_request
from service.batching import DeadlineExceeded, QueueFull
from service.errors import RequestError
from service.handlers import ServedModel
from service.reader import check_jpeg_bytes
from service.state import ServiceState

VERSION = "1"  # every model has one version
MAX_IMAGES = 64  # images per infer request

router = APIRouter(prefix="/v2", tags=["open inference protocol"], dependencies=[Depends(require_api_key)])
# Health needs no key, as /healthz and /readyz: kubelet and KServe probes send none.
health_router = APIRouter(prefix="/v2/health", tags=["open inference protocol"])


def _error(e: RequestError) -> JSONResponse:
    return JSONResponse({"error": e.detail}, status_code=e.status_code, headers=e.headers)


async def _answer(fn: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await fn()
    except RequestError as e:
        return _error(e)


def _model(state: ServiceState, name: str, version: str | None) -> ServedModel:
    model = state.models.get(name)
    if model is None:
        raise RequestError(404, f"unknown model {name!r}: expected one of {sorted(state.models)}")
    if version is not None and version != VERSION:
        raise RequestError(404, f"model {name!r} has no version {version!r}: its only version is {VERSION!r}")
    return model


@router.get("")
async def server_metadata() -> dict[str, Any]:
    return {"name": "freqserve", "version": "0.1.0", "extensions": list(EXTENSIONS)}


@health_router.get("/live")
async def live() -> dict[str, bool]:
    return {"live": True}


@health_router.get("/ready")
async def ready(state: StateDep) -> Any:
    # The protocol answers "not ready" with a 4xx status.
    if not state.ready:
        return _error(RequestError(400, state.not_ready_reason()))
    return {"ready": True}


def _metadata(m: ServedModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "versions": [VERSION],
        "platform": f"freqserve_{m.kind}",
        "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
        "outputs": [{"name": OUTPUT, "datatype": "FP32", "shape": [-1, m.contract.num_classes]}],
        "parameters": {"labels": list(m.contract.labels), "provider": m.provider},
    }


@router.get("/models/{name}")
@router.get("/models/{name}/versions/{version}")
async def model_metadata(name: str, state: StateDep, version: str | None = None) -> Any:
    async def run() -> dict[str, Any]:
        return _metadata(_model(state, name, version))

    return await _answer(run)


@router.get("/models/{name}/ready")
@router.get("/models/{name}/versions/{version}/ready")
async def model_ready(name: str, state: StateDep, version: str | None = None) -> Any:
    async def run() -> Any:
        m = _model(state, name, version)
        if not state.ready:
            raise RequestError(400, state.not_ready_reason())
        return {"name": m.name, "ready": True}

    return await _answer(run)


async def _probabilities(model: ServedModel, images: list[bytes], deadline: float | None) -> np.ndarray:
    """Every image classified (concurrently, so they batch together) -> ``[N, classes]`` probabilities."""
    k = model.contract.num_classes
    for i, data in enumerate(images):
        try:
            check_jpeg_bytes(data)
        except RequestError as e:
            raise RequestError(e.status_code, f"input {INPUT!r} element {i}: {e.detail}", e.headers) from None
    results = await asyncio.gather(*(model.classify(d, k, deadline) for d in images), return_exceptions=True)
    probs = np.zeros((len(images), k), dtype=np.float32)
    for i, r in enumerate(results):
        if isinstance(r, QueueFull | DeadlineExceeded):
            raise r
        if isinstance(r, RequestError):
            raise RequestError(r.status_code, f"input {INPUT!r} element {i}: {r.detail}", r.headers)
        if isinstance(r, BaseException):
            raise r
        for p in r.predictions:
            probs[i, p.index] = p.score
    return probs


@router.post("/models/{name}/infer")
@router.post("/models/{name}/versions/{version}/infer")
async def infer(name: str, request: Request, state: StateDep, version: str | None = None) -> Any:
    s = state.settings
    arrived = time.perf_counter()

    async def run() -> Response:
        model = _model(state, name, version)
        deadline = request_deadline(request.headers, arrived)
        try:
            # Admission before the body is read, for one image: the batch size is known only after.
            with model.admit():
                body = bytearray()
                async for chunk in limited(request.stream(), s.MAX_BODY_BYTES * MAX_IMAGES):
                    body += chunk
                req = parse_infer_request(bytes(body), request.headers.get(HEADER_LENGTH), MAX_IMAGES)
                for i, data in enumerate(req.images):
                    if len(data) > s.MAX_BODY_BYTES:
                        raise RequestError(413, f"input {INPUT!r} element {i} is larger than {s.MAX_BODY_BYTES} bytes")
                with model.admit(len(req.images) - 1):
                    probs = await _probabilities(model, req.images, deadline)
        except QueueFull:
            raise overloaded(name, s.QUEUE_SIZE, s.RETRY_AFTER_S) from None
        except DeadlineExceeded:
            raise deadline_exceeded(request.headers) from None
        content, headers = encode_infer_response(name, req, probs, model.contract.labels)
        headers[PROVIDER_HEADER] = model.provider
        return Response(content, headers=headers, media_type=headers.pop("content-type"))

    return await _answer(run)
