"""Trained torch models -> ONNX files that carry their input contract (opset 17, dynamic batch).

One generic export for every kind: the kind table (``inputs.kinds``) lists the model's graphs with their
input tensors and output, and the model gives the module behind each (``graph_modules``). Each module is
exported with its BatchNorms as per-channel Mul/Add (ONNX Runtime folds them into the convolutions at load) and
every float32 weight that is exactly a float16 value (all of them, from our float16 checkpoints) stored as
float16 behind a Cast: half the bytes, bit-identical weights. DCT graphs take the quantized int16 coefficients
and the quantization steps (dequantization, normalization and chroma upsampling run inside the graph); RGB
graphs take uint8 NHWC pixels; DRNet becomes a predictor graph plus one graph per resolution.
"""

import io
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from inputs.kinds import graph_specs
from inputs.metadata import graph_metadata
from models.layers import batchnorm_as_affine
from models.measure import count_gflops, example_inputs

OPSET = 17


def _export(
    module: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_name: str,
    metadata: dict[str, str],
    path: Path,
) -> Path:
    module = module.eval()
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            module,
            inputs,
            buf,
            input_names=input_names,
            output_names=[output_name],
            opset_version=OPSET,
            dynamic_axes={n: {0: "N"} for n in [*input_names, output_name]},
            dynamo=False,
            do_constant_folding=True,
        )
    proto = onnx.load_from_string(buf.getvalue())
    for k, v in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    store_half(proto.graph)
    onnx.checker.check_model(proto, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


# Smaller tensors are not worth a node each.
HALF_MIN_ELEMENTS = 1024


def store_half(graph: onnx.GraphProto) -> int:
    """Float32 initializers whose values are all exactly float16 -> float16 initializer + Cast to float32.

    Lossless by construction (checked per tensor). Returns how many were converted."""
    kept, casts = [], []
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        half = arr.astype(np.float16)
        if arr.dtype != np.float32 or arr.size < HALF_MIN_ELEMENTS or not np.array_equal(half.astype(np.float32), arr):
            kept.append(init)
            continue
        kept.append(numpy_helper.from_array(half, f"{init.name}__fp16"))
        casts.append(onnx.helper.make_node("Cast", [f"{init.name}__fp16"], [init.name], to=onnx.TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return len(casts)


def export_model(model: nn.Module, name: str, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/<name>/``, one file per graph (see inputs/README.md). Returns the written paths."""
    folder = Path(out_dir) / name
    model = model.eval()
    modules = model.graph_modules()
    written = []
    for key, spec in graph_specs(model.contract).items():
        module = modules[key]
        # Batch 2 when tracing, so nothing specializes on a batch of one.
        traced_with = example_inputs(model, key, batch=2)
        gflops = count_gflops(module, example_inputs(model, key))
        written.append(
            _export(
                batchnorm_as_affine(module),
                traced_with,
                [t.name for t in spec.inputs],
                spec.output,
                graph_metadata(model.contract, name, key, gflops),
                folder / key.file_name,
            )
        )
    return written
