"""Tiny ONNX models with the exact inputs, outputs and metadata of docs_interfaces.md (built with onnx.helper).

They are not trained: they pool their inputs and apply a fixed linear map, which is enough to exercise
every byte of the serving path. RGB models (and DRNet paths) score classes 0/1/2 by red/green/blue; the
DRNet predictor picks the first resolution for bright images and the second for dark ones.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from inputs.contract import InputContract

K = 7  # a non-default class count
CLASS_IDS = tuple(f"n0208{i:04d}" for i in range(K))
LABELS = tuple(f"breed {i}" for i in range(K))

DCT = InputContract(kind="dct", class_ids=CLASS_IDS, labels=LABELS, preset="dct24", grid=(16, 16))
RGB = InputContract(kind="rgb", class_ids=CLASS_IDS, labels=LABELS, size=32, resize_short=40)
DRNET = InputContract(
    kind="drnet", class_ids=CLASS_IDS, labels=LABELS, size=48, resize_short=56, resolutions=(48, 32), thumbnail=8
)
# Paths on a 16x16 block grid (128 px) and its 2x DCT-domain downscale, for 128 px photos.
DCT_DRNET = InputContract(
    kind="dct_drnet",
    class_ids=CLASS_IDS,
    labels=LABELS,
    preset="dct24",
    grid=(16, 16),
    source_short=128,
    resolutions=(128, 64),
    thumbnail=8,
)


def _model(
    nodes: list, inputs: list, output: str, width: int, inits: list, metadata: dict[str, str]
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "tiny", inputs, [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", width])], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="freqserve-tests")
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return model


def _meta(
    contract: InputContract, name: str, role: str, gflops: float, resolution: int | None = None
) -> dict[str, str]:
    md = {
        "freqserve.contract": contract.to_json(),
        "freqserve.name": name,
        "freqserve.role": role,
        "freqserve.gflops": str(gflops),
    }
    if resolution is not None:
        md["freqserve.resolution"] = str(resolution)
    return md


def _init(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(array.astype(np.float32), name)


def dct_classifier(contract: InputContract, name: str) -> onnx.ModelProto:
    p = contract.channel_preset
    cy, cc = len(p.luma), 2 * len(p.chroma)
    (gh, gw), (ch, cw) = contract.grid, contract.chroma_grid
    w = np.random.default_rng(0).normal(0, 0.01, (cy + cc, contract.num_classes))
    w[cy + len(p.chroma), 0] = 0.05  # Cr DC: red -> class 0
    inputs = [
        helper.make_tensor_value_info("luma", TensorProto.INT16, ["N", cy, gh, gw]),
        helper.make_tensor_value_info("chroma", TensorProto.INT16, ["N", cc, ch, cw]),
        helper.make_tensor_value_info("luma_q", TensorProto.FLOAT, ["N", cy]),
        helper.make_tensor_value_info("chroma_q", TensorProto.FLOAT, ["N", cc]),
    ]
    nodes = []
    for x in ("luma", "chroma"):
        nodes += [
            helper.make_node("Cast", [x], [f"{x}_f"], to=TensorProto.FLOAT),
            helper.make_node("ReduceMean", [f"{x}_f"], [f"{x}_m"], axes=[2, 3], keepdims=0),
            helper.make_node("Mul", [f"{x}_m", f"{x}_q"], [f"{x}_d"]),
        ]
    nodes += [
        helper.make_node("Concat", ["luma_d", "chroma_d"], ["feat"], axis=1),
        helper.make_node("MatMul", ["feat", "w"], ["logits"]),
    ]
    return _model(
        nodes, inputs, "logits", contract.num_classes, [_init("w", w)], _meta(contract, name, "classifier", 0.01)
    )


def rgb_classifier(contract: InputContract, name: str, size: int, role: str = "classifier") -> onnx.ModelProto:
    w = np.full((3, contract.num_classes), -2.0)
    w[[0, 1, 2], [0, 1, 2]] = 6.0
    inputs = [helper.make_tensor_value_info("image", TensorProto.UINT8, ["N", size, size, 3])]
    nodes = [
        helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[1, 2], keepdims=0),
        helper.make_node("Mul", ["m", "scale"], ["s"]),
        helper.make_node("MatMul", ["s", "w"], ["logits"]),
    ]
    inits = [_init("w", w), _init("scale", np.array(1 / 255))]
    resolution = size if role == "path" else None
    return _model(
        nodes, inputs, "logits", contract.num_classes, inits, _meta(contract, name, role, size / 100, resolution)
    )


def drnet_predictor(contract: InputContract, name: str) -> onnx.ModelProto:
    t = contract.thumbnail
    w = np.zeros((3, len(contract.resolutions)))
    w[0, 0], w[0, 1] = 1.0, -1.0  # luma above mid-grey -> the first (largest) resolution
    b = np.array([-128.0, 128.0] + [-1e3] * (len(contract.resolutions) - 2))
    inputs = [helper.make_tensor_value_info("thumbnail", TensorProto.FLOAT, ["N", 3, t, t])]
    nodes = [
        helper.make_node("ReduceMean", ["thumbnail"], ["m"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["z"]),
        helper.make_node("Add", ["z", "b"], ["resolution_logits"]),
    ]
    inits = [_init("w", w), _init("b", b)]
    return _model(
        nodes, inputs, "resolution_logits", len(contract.resolutions), inits, _meta(contract, name, "predictor", 0.001)
    )


def write_models(model_dir: Path) -> Path:
    """tiny-dct, tiny-rgb and tiny-drnet under ``model_dir``, laid out as in bundled/."""
    for name, model in (
        ("tiny-dct", dct_classifier(DCT, "tiny-dct")),
        ("tiny-rgb", rgb_classifier(RGB, "tiny-rgb", RGB.size)),
    ):
        (model_dir / name).mkdir(parents=True, exist_ok=True)
        onnx.save(model, str(model_dir / name / "model.onnx"))
    folder = model_dir / "tiny-drnet"
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(drnet_predictor(DRNET, "tiny-drnet"), str(folder / "predictor.onnx"))
    for r in DRNET.resolutions:
        onnx.save(rgb_classifier(DRNET, "tiny-drnet", r, role="path"), str(folder / f"path_{r}.onnx"))
    return model_dir
