"""Triton Inference Server model repository from exported ONNX files.

Each ONNX file becomes ``<repo>/<model>/1/model.onnx`` + ``config.pbtxt`` (platform onnxruntime_onnx, the
graph's inputs and outputs, max batch size, dynamic batching). DRNet's predictor and paths become separate
Triton models (``<name>_predictor``, ``<name>_path_<R>``): the per-image branch lives in the client or a BLS
model, since a Triton ensemble cannot branch.
"""

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import onnx

_TYPES = {
    onnx.TensorProto.INT16: "TYPE_INT16",
    onnx.TensorProto.FLOAT: "TYPE_FP32",
    onnx.TensorProto.FLOAT16: "TYPE_FP16",
    onnx.TensorProto.UINT8: "TYPE_UINT8",
}


def _tensors(values: list[onnx.ValueInfoProto]) -> list[tuple[str, str, list[int]]]:
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim][1:]  # batch axis is implicit
        out.append((v.name, _TYPES[t.elem_type], dims))
    return out


def config_pbtxt(model_name: str, onnx_path: Path, max_batch_size: int = 64, max_queue_delay_us: int = 2000) -> str:
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    inits = {i.name for i in graph.initializer}
    lines = [f'name: "{model_name}"', 'platform: "onnxruntime_onnx"', f"max_batch_size: {max_batch_size}"]
    for section, values in (("input", [v for v in graph.input if v.name not in inits]), ("output", graph.output)):
        entries = [
            f'  {{\n    name: "{n}"\n    data_type: {t}\n    dims: [ {", ".join(str(d) for d in dims)} ]\n  }}'
            for n, t, dims in _tensors(list(values))
        ]
        lines.append(f"{section} [\n" + ",\n".join(entries) + "\n]")
    lines.append(f"dynamic_batching {{\n  max_queue_delay_microseconds: {max_queue_delay_us}\n}}")
    lines.append("instance_group [\n  {\n    count: 1\n    kind: KIND_AUTO\n  }\n]")
    return "\n".join(lines) + "\n"


def write_triton_repo(onnx_paths: list[Path], name: str, repo: str | Path, max_batch_size: int = 64) -> list[Path]:
    """Add this model's files to a Triton repository; returns the config paths written."""
    written = []
    for path in onnx_paths:
        stem = path.stem
        model_name = name if stem == "model" else f"{name}_{stem}"
        folder = Path(repo) / model_name
        (folder / "1").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / "1" / "model.onnx")
        cfg = folder / "config.pbtxt"
        cfg.write_text(config_pbtxt(model_name, path, max_batch_size))
        written.append(cfg)
    return written


def _model_config_module() -> ModuleType:
    """tritonclient's generated ``model_config_pb2``, loaded without its gRPC package ``__init__``."""
    spec = importlib.util.find_spec("tritonclient")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("tritonclient is not installed (pip install tritonclient)")
    path = Path(next(iter(spec.submodule_search_locations))) / "grpc" / "model_config_pb2.py"
    mspec = importlib.util.spec_from_file_location("_triton_model_config_pb2", path)
    module = importlib.util.module_from_spec(mspec)
    mspec.loader.exec_module(module)
    return module


def parse_config(text: str) -> object:
    """Parse a config.pbtxt strictly with Triton's own ModelConfig protobuf (unknown fields are errors)."""
    from google.protobuf import text_format

    pb2 = _model_config_module()
    return text_format.Parse(text, pb2.ModelConfig())
