"""ONNX Runtime sessions: execution-provider choice, a check of the provider actually in use, IOBinding on CUDA."""

import glob
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

log = logging.getLogger("freqserve.runtime")

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


class ModelLoadError(RuntimeError):
    """A model file or the runtime configuration is unusable: the service must not start."""


def gpu_present() -> bool:
    """An NVIDIA GPU visible to this process (onnxruntime-gpu lists CUDA as available even without one)."""
    return bool(glob.glob("/proc/driver/nvidia/gpus/*") or glob.glob("/dev/nvidia[0-9]*"))


def intended_provider(device: str) -> str:
    """The provider every session must end up on, from FREQSERVE_DEVICE (auto|cpu|cuda)."""
    available = ort.get_available_providers()
    if device == "cpu":
        return CPU
    if device == "cuda":
        if CUDA not in available:
            raise ModelLoadError(
                f"FREQSERVE_DEVICE=cuda but this onnxruntime build has no {CUDA} "
                f"(available: {', '.join(available)}); install onnxruntime-gpu or set FREQSERVE_DEVICE=cpu"
            )
        if not gpu_present():
            # onnxruntime-gpu lists CUDA whether or not a GPU exists; sessions would then fall back to CPU
            # one by one and the server would stay up, never ready. Say so now instead.
            raise ModelLoadError(
                "FREQSERVE_DEVICE=cuda but no NVIDIA GPU is visible to this process (no /dev/nvidia*, no "
                "/proc/driver/nvidia/gpus); run with a GPU (e.g. docker --gpus all) or set FREQSERVE_DEVICE=cpu"
            )
        return CUDA
    return CUDA if CUDA in available and gpu_present() else CPU


@dataclass(frozen=True)
class InputSpec:
    name: str
    dtype: str  # ONNX type string, e.g. "tensor(int16)"
    shape: tuple[int | str | None, ...]


class Graph(Protocol):
    """What the service needs of one graph: its file, its provider, what it declares, a batched run.
    ``OrtGraph`` runs it here; ``service.ray_serve.RemoteGraph`` in another process (a GPU actor)."""

    path: Path
    intended: str
    provider: str
    metadata: dict[str, str]
    inputs: tuple[InputSpec, ...]
    outputs: tuple[str, ...]
    output_shapes: dict[str, tuple[int | str | None, ...]]

    @property
    def on_intended_provider(self) -> bool: ...

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


# (path, intended provider, intra-op threads) -> a graph: how the service opens each ONNX file.
OpenGraph = Callable[[Path, str, int], Graph]


class OrtGraph:
    """One ONNX file, one session, created once at start-up."""

    def __init__(self, path: Path, intended: str, intra_op_threads: int, use_iobinding: bool | None = None) -> None:
        so = ort.SessionOptions()
        so.intra_op_num_threads = intra_op_threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning intra-op threads burn the cores the JPEG readers need between batches.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = [CUDA, CPU] if intended == CUDA else [CPU]
        try:
            self.session = ort.InferenceSession(str(path), so, providers=providers)
        except Exception as e:  # onnxruntime raises its own Fail / InvalidProtobuf / NoSuchFile types
            raise ModelLoadError(f"cannot load ONNX model {path}: {type(e).__name__}: {e}") from e
        self.path = path
        self.intended = intended
        self.provider = self.session.get_providers()[0]
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        self.inputs = tuple(InputSpec(i.name, i.type, tuple(i.shape)) for i in self.session.get_inputs())
        self.outputs = tuple(o.name for o in self.session.get_outputs())
        self.output_shapes = {o.name: tuple(o.shape) for o in self.session.get_outputs()}
        # On CUDA, bind inputs explicitly so exactly the arrays we built (int16 channels) cross to the device.
        self.use_iobinding = (self.provider == CUDA) if use_iobinding is None else use_iobinding
        self._device = "cuda" if self.provider == CUDA else "cpu"

    @property
    def on_intended_provider(self) -> bool:
        return self.provider == self.intended

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not self.use_iobinding:
            return dict(zip(self.outputs, self.session.run(list(self.outputs), feeds), strict=True))
        binding = self.session.io_binding()
        for name, array in feeds.items():
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array, self._device, 0))
        for name in self.outputs:
            binding.bind_output(name, "cpu")
        self.session.run_with_iobinding(binding)
        return dict(zip(self.outputs, binding.copy_outputs_to_cpu(), strict=True))
