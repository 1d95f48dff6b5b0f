import onnx
import onnxruntime as ort

from export.onnx_export import OPSET
from inputs.contract import InputContract
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
