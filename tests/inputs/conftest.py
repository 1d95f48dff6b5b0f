"""Fixtures of the input tests: one small photo, decoded, that every preprocessing test starts from."""

import io
from collections.abc import Callable

import pytest
from PIL import Image


@pytest.fixture(scope="module")
def photo(jpeg_factory: Callable[..., bytes]) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_factory(96, 64, seed=3, quality=95))).convert("RGB")
