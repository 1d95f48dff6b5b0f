"""The application factory: routes, error handlers, and a lifespan that loads and warms up every model."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from service.api import health, models, v2
from service.errors import RequestError
from service.middleware import RequestContextMiddleware
from service.runtime import OpenGraph, OrtGraph
from service.settings import Settings
from service.state import ServiceState


async def _request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """One readable sentence instead of FastAPI's list of error objects."""
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"] if x not in ("query", "path", "header", "body"))
        if err["type"] in ("int_parsing", "int_type", "int_from_float"):
            parts.append(f"{where}: expected an integer, got {err.get('input')!r}")
        else:
            parts.append(f"{where}: {err['msg']}")
    return JSONResponse({"detail": "; ".join(parts)}, status_code=422)


def create_app(settings: Settings | None = None, open_graph: OpenGraph = OrtGraph) -> FastAPI:
    """``open_graph``: how each ONNX file becomes a graph (here by default; Ray's split deployment runs them
    in a graph actor, ``service.ray_serve``)."""
    state = ServiceState(settings if settings is not None else Settings(), open_graph)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await state.start()
        except BaseException:
            await state.stop()
            raise
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="freqserve",
        version="0.1.0",
        description="Image classification straight from JPEG DCT coefficients (ONNX Runtime).",
        lifespan=lifespan,
    )
    app.state.service = state
    app.add_middleware(RequestContextMiddleware)
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(health.router)
    app.include_router(models.router)
    app.include_router(v2.health_router)
    app.include_router(v2.router)
    return app
