from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from export.onnx_export import OPSET, export_model
from export.parity import ParityError, assert_parity, check_parity
from export.triton import config_pbtxt, parse_config, write_triton_repo
from inputs.contract import InputContract
from models.layers import fold_batchnorm
from models.registry import create_model

TINY = {"widths": (16, 16, 16, 16), "depths": (1, 1, 1, 1), "num_classes": 5}
VARIANTS = {
    "dct24_resnet": {"grid": (8, 8)},
    "rgb_resnet": {"size": 48, "resize_short": 60},
    "drnet_resnet": {"resolutions": (48, 40, 32), "resize_short": 60, "thumbnail": 8},
}
EXPECTED_FILES = {
    "dct24_resnet": ["model.onnx"],
    "rgb_resnet": ["model.onnx"],
    "drnet_resnet": ["predictor.onnx", "path_48.onnx", "path_40.onnx", "path_32.onnx"],
}


def _randomize_bn(model: nn.Module) -> None:
    """Untrained BNs are identities; give them real statistics so folding is actually exercised."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


@pytest.fixture(scope="module")
def jpegs(jpeg_factory: Callable[..., bytes]) -> list[bytes]:
    make_jpeg = jpeg_factory
    sizes = [(64, 64), (80, 60), (100, 72), (57, 83)]
    return [make_jpeg(w, h, seed=i, mode="L" if i == 3 else "RGB") for i, (w, h) in enumerate(sizes * 3)]


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    name = request.param
    torch.manual_seed(0)
    model = create_model(name, **TINY, **VARIANTS[name]).eval()
    _randomize_bn(model)
    if name.startswith("dct"):  # training always sets input statistics; untrained defaults are 0/1
        n = model.contract.channel_preset.num_channels
        mean, std = torch.zeros(n), torch.full((n,), 40.0)
        model.set_input_stats(mean, std)
        model.contract = model.contract.with_stats(mean.tolist(), std.tolist())
    paths = export_model(model, name, tmp_path_factory.mktemp("onnx"))
    return name, model, paths


def test_files_opset_and_checker(exported: tuple) -> None:
    name, _, paths = exported
    assert [p.name for p in paths] == EXPECTED_FILES[name]
    for p in paths:
        proto = onnx.load(str(p))
        onnx.checker.check_model(proto, full_check=True)
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= OPSET


def test_metadata_round_trips_the_contract(exported: tuple) -> None:
    name, model, paths = exported
    for p in paths:
        meta = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
        assert InputContract.from_json(meta["freqserve.contract"]) == model.contract
        assert meta["freqserve.name"] == name
        assert float(meta["freqserve.gflops"]) > 0
        role = meta["freqserve.role"]
        assert role == {"model.onnx": "classifier", "predictor.onnx": "predictor"}.get(p.name, "path")
        if role == "path":
            assert meta["freqserve.resolution"] == p.stem.split("_")[1]


def test_dct_graph_takes_quantized_int16_and_dynamic_batch(exported: tuple) -> None:
    name, model, paths = exported
    sess = ort.InferenceSession(str(paths[0]), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in sess.get_inputs()}
    if name.startswith("dct"):
        assert inputs["luma"].type == "tensor(int16)" and inputs["chroma"].type == "tensor(int16)"
        assert inputs["luma_q"].type == "tensor(float)"
        assert inputs["luma"].shape == ["N", 16, 8, 8] and inputs["chroma"].shape == ["N", 8, 4, 4]
    elif name.startswith("rgb"):
        assert inputs["image"].type == "tensor(uint8)" and inputs["image"].shape == ["N", 48, 48, 3]
    else:
        assert inputs["thumbnail"].shape == ["N", 3, 8, 8]


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


def test_triton_repo_configs_parse_with_tritons_schema(exported: tuple, tmp_path: Path) -> None:
    name, _, paths = exported
    configs = write_triton_repo(paths, name, tmp_path / "triton")
    for cfg in configs:
        parsed = parse_config(cfg.read_text())
        assert parsed.platform == "onnxruntime_onnx"
        assert parsed.max_batch_size == 64
        assert parsed.dynamic_batching.max_queue_delay_microseconds > 0
        assert (cfg.parent / "1" / "model.onnx").is_file()
    first = parse_config(configs[0].read_text())
    if name.startswith("dct"):
        assert [(i.name, list(i.dims)) for i in first.input][:2] == [("luma", [16, 8, 8]), ("chroma", [8, 4, 4])]


def test_triton_parser_rejects_unknown_fields(exported: tuple) -> None:
    from google.protobuf import text_format

    _, _, paths = exported
    text = config_pbtxt("m", paths[0])
    with pytest.raises(text_format.ParseError):
        parse_config(text + "\nnot_a_field: 3\n")


def test_fold_batchnorm_matches_the_unfolded_model() -> None:
    torch.manual_seed(0)
    model = create_model("rgb_resnet", **TINY, size=48, resize_short=60).eval()
    _randomize_bn(model)
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.randint(0, 256, (2, 48, 48, 3), dtype=torch.uint8)
    with torch.no_grad():
        np.testing.assert_allclose(folded(x).numpy(), model(x).numpy(), atol=1e-4, rtol=1e-4)


def test_late_chroma_merge_exports_with_parity(jpegs: list[bytes], tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("dct24_resnet", **TINY, grid=(8, 8), chroma_merge="late").eval()
    _randomize_bn(model)
    n = model.contract.channel_preset.num_channels
    model.set_input_stats(torch.zeros(n), torch.full((n,), 40.0))
    paths = export_model(model, "late", tmp_path)
    report = check_parity(model, paths, jpegs)
    assert_parity(report)
    assert report["model.onnx"]["top1_agreement"] == 1.0
