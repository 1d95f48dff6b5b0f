"""Settings and an in-process client for the service tests (a plain module: ``conftest`` names collide)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from service.app import create_app
from service.runtime import OpenGraph, OrtGraph
from service.settings import Settings


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
async def serve(
    settings: Settings, open_graph: OpenGraph = OrtGraph
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan run (models loaded, warmed up), and a client talking to it in-process."""
    app = create_app(settings, open_graph)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client
