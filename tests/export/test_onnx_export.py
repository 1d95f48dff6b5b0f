import onnx
import onnxruntime as ort

from export.onnx_export import OPSET
from inputs.contract import InputContract
from inputs.kinds import graph_specs
from tests.support.exported import EXPECTED_FILES


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
