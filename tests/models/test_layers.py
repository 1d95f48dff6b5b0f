import pytest
import torch

from models.layers import ResNetBody


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
