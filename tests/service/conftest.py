"""Fixtures of the service tests: tiny ONNX models in a temp folder, settings, an in-process client."""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).parent))  # svc_models, svc_jpegs

from svc_models import write_models  # noqa: E402

from service.app import create_app  # noqa: E402
from service.settings import Settings  # noqa: E402


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_settings(model_dir: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "MODEL_DIR": model_dir,
        "DEVICE": "cpu",
        "READ_THREADS": 2,
        "INTRA_OP_THREADS": 1,
        "MAX_BATCH": 4,
        "MAX_DELAY_MS": 2.0,
    }
    return Settings(**(base | overrides))


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan run (models loaded, warmed up), and a client talking to it in-process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client
