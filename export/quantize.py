"""INT8 twins of exported models: ONNX Runtime static quantization (QDQ, per-channel weights), calibrated on
training-split photos through the same ``inputs`` functions the server runs.

    python -m export.quantize --model dct_learned48_wide --model-dir bundled --calibration-data $D

writes ``bundled/<model>_int8/`` with the same graph files and metadata (served name ``<model>_int8``). Only
the convolutions and matrix products are quantized (8-bit weights per output channel, 8-bit activations);
the int16 coefficient inputs, their dequantization and normalization stay in float, as in the float model.
"""

import argparse
import json
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from inputs.graphs import Feeds, GraphKey
from inputs.kinds import graph_specs, prepare
from inputs.metadata import NAME, read_graph_metadata
from models.train.data import scan_folder, stratified_split

SUFFIX = "_int8"
OP_TYPES = ["Conv", "MatMul", "Gemm"]


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


def quantize_graph(src: Path, dst: Path, key: GraphKey, images: list[bytes], name: str) -> None:
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
            weight_type=QuantType.QInt8,
            op_types_to_quantize=OP_TYPES,
        )
    # The quantizer drops the model's metadata; put the float model's back, with the new served name.
    out = onnx.load(str(dst))
    props = _props(src) | {NAME: name}
    del out.metadata_props[:]
    for k, v in props.items():
        out.metadata_props.add(key=k, value=v)
    onnx.save(out, str(dst))


def quantize_model(model_dir: Path, model: str, images: list[bytes]) -> list[Path]:
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
        quantize_graph(src_dir / key.file_name, dst_dir / key.file_name, key, images, f"{model}{SUFFIX}")
        written.append(dst_dir / key.file_name)
    return written


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="served name of an exported model under --model-dir")
    p.add_argument("--model-dir", type=Path, default=Path("bundled"))
    p.add_argument("--calibration-data", required=True, help="the training image folder")
    p.add_argument("--count", type=int, default=256, help="calibration photos")
    a = p.parse_args(argv)
    paths = quantize_model(a.model_dir, a.model, calibration_images(a.calibration_data, a.count))
    print(json.dumps({"files": {str(x): x.stat().st_size for x in paths}}, indent=2))


if __name__ == "__main__":
    main()
