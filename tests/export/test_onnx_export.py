from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

from export.onnx_export import HALF_MIN_ELEMENTS, OPSET, export_model, store_half
from export.parity import assert_parity, check_parity
from inputs.contract import InputContract
from inputs.kinds import graph_specs
from models.registry import create_model
from tests.support.exported import EXPECTED_FILES, TINY, VARIANTS, randomize_bn


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


def test_every_graph_takes_the_tables_tensors_with_a_dynamic_batch(exported: tuple) -> None:
    _, model, paths = exported
    specs = list(graph_specs(model.contract).values())
    assert [s.key.file_name for s in specs] == [p.name for p in paths]
    for spec, path in zip(specs, paths, strict=True):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = {i.name: (i.type, i.shape) for i in sess.get_inputs()}
        assert got == {t.name: (t.onnx_type, ["N", *t.shape]) for t in spec.inputs}


def test_dct_graphs_take_quantized_int16(exported: tuple) -> None:
    _, model, paths = exported
    for spec in graph_specs(model.contract).values():
        if any(t.name == "luma" for t in spec.inputs):
            assert {t.name: t.onnx_type for t in spec.inputs} == {
                "luma": "tensor(int16)",
                "chroma": "tensor(int16)",
                "luma_q": "tensor(float)",
                "chroma_q": "tensor(float)",
            }


def _half_checkpoint_model() -> torch.nn.Module:
    """A tiny model whose weights are float16 values, as every model loaded from a compact checkpoint is."""
    torch.manual_seed(0)
    model = create_model("dct24_resnet", **TINY, **VARIANTS["dct24_resnet"]).eval()
    randomize_bn(model)
    with torch.no_grad():
        # Random batch norms give logits of ~160, where float32 rounding alone (about 1e-6 of them, in the
        # order the runtime sums) passes the 1e-4 bar on some CPUs; trained models' are ~10. A power of two
        # keeps every weight a float16 value.
        model.body.fc.weight.mul_(1 / 16)
        model.body.fc.bias.mul_(1 / 16)
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.copy_(t.half().float())
    return model


def test_float16_valued_weights_are_stored_as_float16_losslessly(
    tmp_path: Path, jpeg_factory: Callable[..., bytes]
) -> None:
    model = _half_checkpoint_model()
    (half,) = export_model(model, "half", tmp_path)
    proto = onnx.load(str(half))
    big = [i for i in proto.graph.initializer if numpy_helper.to_array(i).size >= HALF_MIN_ELEMENTS]
    assert big and all(i.data_type == onnx.TensorProto.FLOAT16 for i in big)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1e-4)  # no longer float16 values: stored as float32
    (full,) = export_model(model, "full", tmp_path)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    jpegs = [jpeg_factory(64, 64, seed=i) for i in range(4)]
    assert_parity(check_parity(_half_checkpoint_model(), [half], jpegs))


def test_store_half_leaves_inexact_and_small_tensors_alone() -> None:
    exact = np.arange(HALF_MIN_ELEMENTS, dtype=np.float32)
    inexact = exact + np.float32(1e-3)
    small = np.ones(4, np.float32)
    graph = onnx.helper.make_graph(
        [], "g", [], [], [numpy_helper.from_array(a, n) for a, n in ((exact, "a"), (inexact, "b"), (small, "c"))]
    )
    assert store_half(graph) == 1
    kinds = {i.name: i.data_type for i in graph.initializer}
    assert kinds == {"a__fp16": onnx.TensorProto.FLOAT16, "b": onnx.TensorProto.FLOAT, "c": onnx.TensorProto.FLOAT}
    assert [(n.op_type, list(n.input), list(n.output)) for n in graph.node] == [("Cast", ["a__fp16"], ["a"])]


def test_the_runtime_folds_the_batchnorm_affines_and_casts_into_the_convolutions(tmp_path: Path) -> None:
    (path,) = export_model(_half_checkpoint_model(), "half", tmp_path)
    exported = [n.op_type for n in onnx.load(str(path)).graph.node]
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    optimized = [n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node]
    convs = exported.count("Conv")
    assert exported.count("Mul") >= convs  # one per BatchNorm affine (and the input's)
    assert optimized.count("Conv") == convs and optimized.count("Mul") < convs // 2
    assert optimized.count("Cast") < exported.count("Cast")
