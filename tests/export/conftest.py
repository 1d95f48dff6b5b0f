"""Fixtures of the export tests: real JPEGs made here, and each kind's tiny model exported once (package scope)."""

from collections.abc import Callable

import pytest
import torch

from export.onnx_export import export_model
from models.registry import create_model
from tests.support.exported import TINY, VARIANTS, randomize_bn


@pytest.fixture(scope="package")
def jpegs(jpeg_factory: Callable[..., bytes]) -> list[bytes]:
    make_jpeg = jpeg_factory
    sizes = [(64, 64), (80, 60), (100, 72), (57, 83)]
    return [make_jpeg(w, h, seed=i, mode="L" if i == 3 else "RGB") for i, (w, h) in enumerate(sizes * 3)]


@pytest.fixture(scope="package", params=sorted(VARIANTS))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    name = request.param
    torch.manual_seed(0)
    model = create_model(name, **TINY, **VARIANTS[name]).eval()
    randomize_bn(model)
    if (
        model.contract.preset is not None
    ):  # DCT models: training always sets input statistics; untrained defaults are 0/1
        n = model.contract.channel_preset.num_channels
        mean, std = torch.zeros(n), torch.full((n,), 40.0)
        model.set_input_stats(mean, std)
        model.contract = model.contract.with_stats(mean.tolist(), std.tolist())
    paths = export_model(model, name, tmp_path_factory.mktemp("onnx"))
    return name, model, paths
