"""``/v1/models``: what is loaded, and classification of one JPEG."""

import time
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from service.api.body import read_image
from service.api.deadline import deadline_exceeded, request_deadline
from service.api.deps import StateDep, require_api_key
from service.batching import DeadlineExceeded, QueueFull
from service.errors import RequestError
from service.handlers import ServedModel
from service.reader import check_jpeg_bytes
from service.schemas import ClassifyResponse, ErrorResponse, ModelInfo, ModelList, PredictionOut, TimingsOut
from service.state import ServiceState

PROVIDER_HEADER = "X-Execution-Provider"

router = APIRouter(prefix="/v1", tags=["models"], dependencies=[Depends(require_api_key)])

_ERRORS = {code: {"model": ErrorResponse} for code in (401, 404, 413, 415, 422, 503, 504)}
_BODY = {
    "requestBody": {
        "required": True,
        "description": "The JPEG: raw bytes (image/jpeg) or a multipart upload in a field named 'file'",
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


def _info(m: ServedModel) -> ModelInfo:
    c = m.contract
    return ModelInfo(
        name=m.name,
        kind=m.kind,
        contract=asdict(c),
        labels=list(c.labels),
        class_ids=list(c.class_ids),
        provider=m.provider,
        providers=m.providers,
        graphs=sorted(map(str, m.batchers)),
        gflops={str(k): v for k, v in m.loaded.gflops.items()},
        input_bytes=m.input_bytes,
    )


def overloaded(name: str, limit: int, retry_after_s: int) -> RequestError:
    return RequestError(
        503,
        f"model {name!r} is overloaded: {limit} images are already in flight; retry later",
        {"Retry-After": str(retry_after_s)},
    )


def _model(state: ServiceState, name: str) -> ServedModel:
    model = state.models.get(name)
    if model is None:
        raise RequestError(404, f"unknown model {name!r}: expected one of {sorted(state.models)} (see GET /v1/models)")
    return model


@router.get("/models", response_model=ModelList, responses={401: {"model": ErrorResponse}})
async def list_models(state: StateDep) -> ModelList:
    """Every loaded model: kind, input contract, labels, execution provider in use."""
    return ModelList(models=[_info(m) for m in state.models.values()])


@router.get(
    "/models/{name}", response_model=ModelInfo, responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}}
)
async def get_model(name: str, state: StateDep) -> ModelInfo:
    return _info(_model(state, name))


@router.post(
    "/models/{name}/classify",
    response_model=ClassifyResponse,
    response_model_exclude_none=True,
    responses=_ERRORS,
    openapi_extra=_BODY,
)
async def classify(
    name: str,
    request: Request,
    response: Response,
    state: StateDep,
    top_k: Annotated[int, Query(description="How many classes to return, 1..number of classes")] = 5,
) -> ClassifyResponse:
    """Classify one JPEG. An optional ``X-Request-Timeout: <seconds>`` header: work not started by then is
    dropped and the answer is 504."""
    start = time.perf_counter()
    settings, metrics = state.settings, state.metrics
    label, status = (name if name in state.models else "_unknown"), 500
    try:
        model = _model(state, name)
        k = model.contract.num_classes
        if not 1 <= top_k <= k:
            raise RequestError(422, f"top_k must be between 1 and {k} (the number of classes of {name!r}), got {top_k}")
        deadline = request_deadline(request.headers, start)
        try:
            with model.admit():  # before the body is read: overload sheds at once
                data = await read_image(request, settings.MAX_BODY_BYTES)
                check_jpeg_bytes(data)
                r = await model.classify(data, top_k, deadline)
        except QueueFull:
            raise overloaded(name, settings.QUEUE_SIZE, settings.RETRY_AFTER_S) from None
        except DeadlineExceeded:
            raise deadline_exceeded(request.headers) from None
        total = time.perf_counter() - start
        status = 200
    except RequestError as e:
        status = e.status_code
        raise
    finally:
        metrics.requests.labels(label, str(status)).inc()
    metrics.request_seconds.labels(name).observe(total)
    # Every answer names where it was computed, so a degraded server (a graph fell back to an unintended
    # provider; /readyz says 503) cannot pass a CPU answer off as a GPU one.
    response.headers[PROVIDER_HEADER] = model.provider
    return ClassifyResponse(
        model=name,
        predictions=[
            PredictionOut(label=p.label, class_id=p.class_id, index=p.index, score=p.score) for p in r.predictions
        ],
        input_bytes=r.input_bytes,
        timings_ms=TimingsOut(read=r.read_s * 1e3, queue=r.queue_s * 1e3, infer=r.infer_s * 1e3, total=total * 1e3),
        resolution=r.resolution,
        gflops=r.gflops,
    )
