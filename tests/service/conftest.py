"""Fixtures of the service tests: tiny ONNX models in a temp folder; anyio on asyncio."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # svc_app, svc_models, svc_jpegs

from svc_models import write_models  # noqa: E402


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
