from pathlib import Path

import pytest
import torch

from export.onnx_export import export_model
from export.parity import ParityError, assert_parity, check_parity
from models.registry import create_model
from tests.support.exported import TINY, VARIANTS, randomize_bn


def test_parity_with_torch_on_real_jpegs(exported: tuple, jpegs: list[bytes]) -> None:
    _, model, paths = exported
    report = check_parity(model, paths, jpegs)
    assert set(report) == {p.name for p in paths}
    assert_parity(report)
    assert all(r["images"] == len(jpegs) for r in report.values())


def test_parity_check_fails_when_the_graph_differs(exported: tuple, jpegs: list[bytes]) -> None:
    name, model, paths = exported
    other = create_model(name, **TINY, **VARIANTS[name]).eval()  # different random weights
    with torch.no_grad():
        for p in other.parameters():
            p.add_(torch.randn_like(p))
    with pytest.raises(ParityError):
        assert_parity(check_parity(other, paths, jpegs))


def test_late_chroma_merge_exports_with_parity(jpegs: list[bytes], tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("dct24_resnet", **TINY, grid=(8, 8), chroma_merge="late").eval()
    randomize_bn(model)
    n = model.contract.channel_preset.num_channels
    model.set_input_stats(torch.zeros(n), torch.full((n,), 40.0))
    paths = export_model(model, "late", tmp_path)
    report = check_parity(model, paths, jpegs)
    assert_parity(report)
    assert report["model.onnx"]["top1_agreement"] == 1.0
