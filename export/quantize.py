"""INT8 twins of exported models: ONNX Runtime static quantization (QDQ, per-channel weights), calibrated on
training-split photos through the same ``inputs`` functions the server runs.

    python -m export.quantize --model dct_learned48_wide --model-dir bundled --calibration-data $D

writes ``bundled/<model>_int8/`` with the same graph files and metadata (served name ``<model>_int8``). Only
the convolutions and matrix products are quantized (8-bit weights per output channel, 8-bit activations);
the int16 coefficient inputs, their dequantization and normalization stay in float, as in the float model.

The calibration recipe is chosen per model on the validation split (``RECIPES``; top-1 / top-1 agreement with
the float model; the chosen recipes through ``bench/accuracy.py``, the rejected ones from a one-off sweep),
on a CPU with AVX2 and no VNNI, where ONNX Runtime's u8 x s8 kernels sum pairs of products in int16 and can
saturate. ``dct_learned48_wide`` (float 73.3%): min-max ranges on every layer 72.2% / 92.1% (7-bit weights:
71.7% / 91.8%); ``float-ends``, its stems and classifier kept in float with activation ranges at the 99.99th
percentile, 72.9% / 98.4%. Its stems are what suffers: their input, the normalized coefficients, is
heavy-tailed, so min-max ranges leave few levels for the bulk; unsigned weights there (u8 x u8: summed in
int32, no saturation) 73.1% / 98.9% but at about half float-ends' speed-up. On the bundled model (float 73.7%,
2026-12-04 sweep): ``float-ends`` 73.3% / 98.2%, with min-max ranges 73.7% / 97.7%, entropy 73.7% / 97.7%, 7-bit
weights 73.6% / 98.2%, 99.9999th percentile 73.3% / 98.9%; ``float-ends-p99999`` (99.999th percentile from 512
calibration photos; from 256: 73.9% / 98.7%) 73.8% / **99.2%**, the bundled recipe. ``rgb_resnet`` (float 70.4%):
min-max 69.6% / 92.1% (98.2% on the previous round's CPU), with 7-bit weights (``minmax-7bit``) 69.8% /
97.5%; with unsigned 8-bit weights (``minmax-u8u8``) 70.3% / 98.1%, but through the service it answered
slower than the float model here (42 / 60 img/s at c=1 / c=16 vs 47 / 73), while s8 weights (7-bit here) are
what ONNX Runtime's VNNI kernels take on CPUs that have them; percentile
ranges on every layer 68.9% / 92.4%; ``float-ends`` 70.5% / 98.1% but at almost no speed-up, its 7x7 stem
being a large part of its FLOPs. So: ``float-ends-p99999`` for the DCT model, ``minmax-7bit`` for RGB (``QUANTIZED``
in the Makefile); ``--recipe minmax-u8u8`` remains for a user who wants RGB's accuracy over its speed.
"""

import argparse
import contextlib
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from inputs.graphs import Feeds, GraphKey
from inputs.kinds import graph_specs, prepare
from inputs.metadata import NAME, read_graph_metadata
from models.train.data import scan_folder, stratified_split

SUFFIX = "_int8"
OP_TYPES = ["Conv", "MatMul", "Gemm"]


@dataclass(frozen=True)
class Recipe:
    float_ends: bool  # the stems and the classifier stay float (``float_ends``)
    method: CalibrationMethod
    options: dict[str, float]
    reduce_range: bool = False  # 7-bit weights: no int16 overflow in x86 AVX2 kernels without VNNI
    weight_type: QuantType = QuantType.QInt8  # QUInt8: u8 x u8 kernels, which widen to int32 before summing
    photos: int = 256  # calibration photos (``--count`` overrides): tail percentiles need more of them


RECIPES = {
    "minmax": Recipe(False, CalibrationMethod.MinMax, {}),
    "minmax-7bit": Recipe(False, CalibrationMethod.MinMax, {}, reduce_range=True),
    "minmax-u8u8": Recipe(False, CalibrationMethod.MinMax, {}, weight_type=QuantType.QUInt8),
    "float-ends": Recipe(True, CalibrationMethod.Percentile, {"CalibPercentile": 99.99}),
    "float-ends-p99999": Recipe(True, CalibrationMethod.Percentile, {"CalibPercentile": 99.999}, photos=512),
}


class _Feeds(CalibrationDataReader):
    """One image's feeds at a time (batch 1), as ONNX Runtime's calibrator reads them."""

    def __init__(self, feeds: list[Feeds]) -> None:
        self._it: Iterator[Feeds] = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        f = next(self._it, None)
        return None if f is None else {k: v[None] for k, v in f.items()}


def calibration_images(data_dir: str | Path, count: int, seed: int = 2) -> list[bytes]:
    """``count`` photos of the training split (never the validation photos), seeded."""
    data = scan_folder(data_dir)
    train_idx, _ = stratified_split(data.targets, 0.1, 0)
    picked = random.Random(seed).sample(list(train_idx), min(count, len(train_idx)))
    return [data.files[i].read_bytes() for i in picked]


def _props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def float_ends(model: onnx.ModelProto) -> list[str]:
    """The quantizable nodes that read the input with no quantizable node before them (the stems: one per
    component stream or octave where the body has several) and those with none after them (the classifier):
    kept in float (module docstring). Graph order."""
    nodes = [n for n in model.graph.node if n.op_type in OP_TYPES]
    if not nodes or any(not n.name for n in nodes):
        raise ValueError("the graph has unnamed or no quantizable nodes")
    after: dict[str, set[str]] = {}  # tensor -> the quantizable nodes it is computed from
    for n in model.graph.node:  # ONNX graphs are topologically sorted
        came_from = set().union(*(after.get(t, set()) for t in n.input))
        for t in n.output:
            after[t] = came_from | ({n.name} if n.op_type in OP_TYPES else set())
    ancestors = {n.name: set().union(*(after.get(t, set()) for t in n.input)) for n in nodes}
    has_later = set().union(*ancestors.values())
    return [n.name for n in nodes if not ancestors[n.name] or n.name not in has_later]


def quantize_graph(src: Path, dst: Path, key: GraphKey, images: list[bytes], name: str, recipe: Recipe) -> None:
    meta = read_graph_metadata(_props(src), key)
    feeds = [prepare(meta.contract, key, data) for data in images]
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(dst),
            _Feeds(feeds),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=recipe.weight_type,
            op_types_to_quantize=OP_TYPES,
            nodes_to_exclude=float_ends(onnx.load(str(pre))) if recipe.float_ends else [],
            calibrate_method=recipe.method,
            extra_options=recipe.options,
            reduce_range=recipe.reduce_range,
        )
    # The quantizer drops the model's metadata; put the float model's back, with the new served name.
    out = onnx.load(str(dst))
    props = _props(src) | {NAME: name}
    del out.metadata_props[:]
    for k, v in props.items():
        out.metadata_props.add(key=k, value=v)
    onnx.save(out, str(dst))


def quantize_model(model_dir: Path, model: str, images: list[bytes], recipe: Recipe = RECIPES["minmax"]) -> list[Path]:
    """``model_dir/<model>/*`` -> ``model_dir/<model>_int8/*``, every graph of the kind."""
    src_dir, dst_dir = model_dir / model, model_dir / f"{model}{SUFFIX}"
    dst_dir.mkdir(parents=True, exist_ok=True)
    first = next(iter(sorted(src_dir.glob("*.onnx"))))
    key = GraphKey.from_file_name(first.name)
    if key is None:
        raise ValueError(f"{first} is not a graph file name of inputs/README.md")
    contract = read_graph_metadata(_props(first), key).contract
    written = []
    for key in graph_specs(contract):
        quantize_graph(src_dir / key.file_name, dst_dir / key.file_name, key, images, f"{model}{SUFFIX}", recipe)
        written.append(dst_dir / key.file_name)
    return written


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="served name of an exported model under --model-dir")
    p.add_argument("--model-dir", type=Path, default=Path("bundled"))
    p.add_argument("--calibration-data", required=True, help="the training image folder")
    p.add_argument("--count", type=int, default=None, help="calibration photos (default: the recipe's)")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="minmax", help="calibration (module docstring)")
    a = p.parse_args(argv)
    recipe = RECIPES[a.recipe]
    images = calibration_images(a.calibration_data, a.count or recipe.photos)
    # ONNX Runtime's histogram calibrators print progress to stdout, which holds only the JSON report.
    with contextlib.redirect_stdout(sys.stderr):
        paths = quantize_model(a.model_dir, a.model, images, recipe)
    print(json.dumps({"files": {str(x): x.stat().st_size for x in paths}}, indent=2))


if __name__ == "__main__":
    main()
