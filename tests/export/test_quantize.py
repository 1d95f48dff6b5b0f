"""INT8 twins: every graph quantized (QDQ), metadata kept with the new name, answers close to the float's."""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnxruntime.quantization import QuantType

from export.quantize import RECIPES, SUFFIX, float_ends, main, quantize_model
from inputs.kinds import graph_specs, prepare
from inputs.metadata import NAME


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_int8_twin_of_every_graph_keeps_metadata_and_agrees(
    exported: tuple, jpegs: list[bytes], tmp_path: Path, recipe: str
) -> None:
    name, model, paths = exported
    folder = paths[0].parent
    written = quantize_model(folder.parent, name, jpegs[:6], RECIPES[recipe])
    assert [p.name for p in written] == [p.name for p in paths]
    assert written[0].parent.name == f"{name}{SUFFIX}"
    specs = graph_specs(model.contract)
    for key, f_path, q_path in zip(specs, paths, written, strict=True):
        q = onnx.load(str(q_path))
        ops = {n.op_type for n in q.graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops
        # With float-ends, the stems and the classifier stay float: no DequantizeLinear feeds their weights.
        ends = float_ends(onnx.load(str(f_path)))
        assert len(ends) >= 2
        quantized_weights = {n.output[0] for n in q.graph.node if n.op_type == "DequantizeLinear"}
        by_name = {n.name: n for n in q.graph.node}
        for end in ends:
            assert bool(set(by_name[end].input[1:2]) & quantized_weights) != RECIPES[recipe].float_ends, end
        assert any(set(n.input[1:2]) & quantized_weights for n in q.graph.node if n.op_type == "Conv")
        # The weights are stored in the recipe's integer type (u8 weights: ONNX Runtime's u8 x u8 kernels).
        weights = {i.name: i.data_type for i in q.graph.initializer}
        conv_weights = {n.input[1] for n in q.graph.node if n.op_type == "Conv"}
        stored = {
            weights[n.input[0]]
            for n in q.graph.node
            if n.op_type == "DequantizeLinear" and n.output[0] in conv_weights and n.input[0] in weights
        }
        wanted = onnx.TensorProto.UINT8 if RECIPES[recipe].weight_type == QuantType.QUInt8 else onnx.TensorProto.INT8
        assert stored == {wanted}
        props = {p.key: p.value for p in q.metadata_props}
        assert props[NAME] == f"{name}{SUFFIX}"
        f_props = {p.key: p.value for p in onnx.load(str(f_path)).metadata_props}
        assert {k: v for k, v in props.items() if k != NAME} == {k: v for k, v in f_props.items() if k != NAME}
        fs = ort.InferenceSession(str(f_path), providers=["CPUExecutionProvider"])
        qs = ort.InferenceSession(str(q_path), providers=["CPUExecutionProvider"])
        floats, ints = [], []
        for data in jpegs[6:]:
            feeds = {k: v[None] for k, v in prepare(model.contract, key, data).items()}
            floats.append(fs.run(None, feeds)[0])
            ints.append(qs.run(None, feeds)[0])
        a, b = np.concatenate(floats).ravel(), np.concatenate(ints).ravel()
        # 8 bits of a random tiny network: correlated, not equal (the real models' agreement is measured).
        assert not np.array_equal(a, b) and np.corrcoef(a, b)[0, 1] > 0.8, key


def test_quantize_refuses_a_folder_without_graph_files(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.onnx").write_bytes(b"")
    with pytest.raises(ValueError, match="not a graph file name"):
        quantize_model(tmp_path, "m", [])


def test_the_command_prints_only_its_json_report(
    exported: tuple, tiny_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The percentile calibrator prints progress; the Makefile keeps stdout as checkpoints/<model>.int8.json.
    name, _, paths = exported
    folder = paths[0].parent.parent
    main(["--model", name, "--model-dir", str(folder), "--calibration-data", str(tiny_dataset), "--count", "4",
          "--recipe", "float-ends"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["files"]) == sorted(str(folder / f"{name}{SUFFIX}" / p.name) for p in paths)


@pytest.mark.parametrize(("extra", "wanted"), [([], 512), (["--count", "7"], 7)])
def test_calibration_photo_count_is_the_recipes_unless_given(
    exported: tuple, tiny_dataset: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], wanted: int
) -> None:
    # Tail percentiles need more photos than min-max: the count travels with the recipe.
    import export.quantize as quantize

    name, _, paths = exported
    asked: list[int] = []
    real = quantize.calibration_images
    monkeypatch.setattr(quantize, "calibration_images", lambda d, n: asked.append(n) or real(d, 4))
    main(["--model", name, "--model-dir", str(paths[0].parent.parent), "--calibration-data", str(tiny_dataset),
          "--recipe", "float-ends-p99999", *extra])  # fmt: skip
    assert RECIPES["float-ends-p99999"].photos == 512 and asked == [wanted]
