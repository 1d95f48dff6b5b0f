import numpy as np
import pytest
import torch
from torch import nn

from models.layers import ResNetBody, batchnorm_as_affine
from models.registry import create_model
from tests.support.exported import TINY as EXPORT_TINY
from tests.support.exported import randomize_bn


def grids(body: ResNetBody, side: int) -> list[int]:
    x = torch.zeros(1, 8, side, side)
    out = []
    for stage in body.stages:
        x = stage(x)
        out.append(x.shape[-1])
    return out


def test_default_strides_halve_after_the_first_stage() -> None:
    body = ResNetBody((8, 8, 16, 16), (1, 1, 1, 1), num_classes=3).eval()
    assert grids(body, 32) == [32, 16, 8, 4]


def test_custom_strides_keep_the_last_grid_and_the_parameters() -> None:
    default = ResNetBody((8, 12, 16, 24), (1, 1, 1, 1), num_classes=3).eval()
    body = ResNetBody((8, 12, 16, 24), (1, 1, 1, 1), num_classes=3, strides=(1, 2, 2, 1)).eval()
    assert grids(body, 32) == [32, 16, 8, 8]
    # Same convolutions, only where the grid shrinks moves.
    assert [p.shape for p in body.parameters()] == [p.shape for p in default.parameters()]


def test_strides_must_match_the_stage_count() -> None:
    with pytest.raises(ValueError):
        ResNetBody((8, 8, 16, 16), (1, 1, 1, 1), num_classes=3, strides=(1, 2))


def test_batchnorm_as_affine_matches_the_model_and_keeps_its_conv_weights() -> None:
    torch.manual_seed(0)
    model = create_model("rgb_resnet", **EXPORT_TINY, size=48, resize_short=60).eval()
    randomize_bn(model)
    folded = batchnorm_as_affine(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the original is untouched
    convs = [(n, p) for n, p in model.named_parameters() if p.ndim == 4]
    assert all(torch.equal(p, folded.get_parameter(n)) for n, p in convs)
    x = torch.randint(0, 256, (2, 48, 48, 3), dtype=torch.uint8)
    with torch.no_grad():
        np.testing.assert_allclose(folded(x).numpy(), model(x).numpy(), atol=1e-4, rtol=1e-4)
