"""Shared fixtures: JPEGs and tiny datasets made inside the tests (never the real photos), libjpeg-turbo's
command-line tools, and tiny ONNX models of every kind."""

import io
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.jpegs import make_jpeg
from tests.support.onnx_models import write_models


@pytest.fixture(scope="session")
def jpeg_factory() -> Callable[..., bytes]:
    return make_jpeg


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 classes x 8 JPEGs of assorted sizes (a few grayscale) in class sub-folders."""
    root = tmp_path_factory.mktemp("tiny_dataset")
    for c in range(3):
        d = root / f"n0000000{c}"
        d.mkdir()
        for i in range(8):
            mode = "L" if i == 7 else "RGB"
            (d / f"img_{i}.JPEG").write_bytes(make_jpeg(96 + 8 * i, 80 + 4 * c, seed=10 * c + i, mode=mode))
    return root


def run_tool(args: list[str], data: bytes) -> bytes:
    """Run a libjpeg-turbo command-line tool on ``data`` (stdin -> stdout)."""
    proc = subprocess.run(args, input=data, capture_output=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def _require(tool: str) -> Callable[[list[str], bytes], bytes]:
    if shutil.which(tool) is None:
        why = f"`{tool}` not installed (Debian package libjpeg-turbo-progs; `make test` installs it)"
        if os.environ.get("CI"):
            # CI must never pass by skipping the bit-exactness checks: `make test` installs the tools.
            pytest.fail(why)
        pytest.skip(why)
    return run_tool


@pytest.fixture
def jpegtran() -> Callable[[list[str], bytes], bytes]:
    """``jpegtran(["-flip", "horizontal"], data) -> bytes``; skips when jpegtran is missing."""
    run = _require("jpegtran")
    return lambda args, data: run(["jpegtran", "-copy", "none", *args], data)


@pytest.fixture
def cjpeg() -> Callable[[list[str], np.ndarray], bytes]:
    """``cjpeg(["-sample", "1x2"], rgb_uint8) -> bytes``; skips when cjpeg is missing."""
    run = _require("cjpeg")

    def encode_with_cjpeg(args: list[str], img: np.ndarray) -> bytes:
        ppm = io.BytesIO()
        Image.fromarray(img).save(ppm, "PPM")
        return run(["cjpeg", *args], ppm.getvalue())

    return encode_with_cjpeg


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny ONNX models of every kind (tests/support/onnx_models.py) in a temp folder."""
    return write_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
