"""Names for what every graph shares: its key (role + resolution) and its input tensors (name, dtype, shape).

A served model is one or more ONNX graphs. ``GraphKey`` names a graph (``classifier``, ``predictor``, or a
``path`` at one resolution) and maps to and from its file name; nobody slices ``"path_<R>"`` strings.
``TensorSpec`` is one input tensor without its batch axis; the per-kind table (``inputs.kinds``) lists them.
"""

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

Role = Literal["classifier", "predictor", "path"]
ROLES: tuple[Role, ...] = ("classifier", "predictor", "path")
Feeds = dict[str, np.ndarray]

_FILE_NAMES = {"classifier": "model.onnx", "predictor": "predictor.onnx"}
_PATH_FILE = re.compile(r"^path_(\d+)\.onnx$")
_PATH_KEY = re.compile(r"^path_(\d+)$")


@dataclass(frozen=True)
class GraphKey:
    role: Role
    resolution: int | None = None  # only for role "path": the square input size in pixels

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown graph role {self.role!r}; known: {ROLES}")
        if (self.role == "path") != (self.resolution is not None):
            raise ValueError(f"a {self.role} graph key {'needs' if self.role == 'path' else 'takes no'} resolution")

    def __str__(self) -> str:
        return f"path_{self.resolution}" if self.role == "path" else self.role

    @property
    def file_name(self) -> str:
        return f"{self}.onnx" if self.role == "path" else _FILE_NAMES[self.role]

    @classmethod
    def parse(cls, text: str) -> "GraphKey":
        """``"classifier"``, ``"predictor"`` or ``"path_<R>"`` (what ``str`` writes) -> the key."""
        if m := _PATH_KEY.match(text):
            return cls("path", int(m.group(1)))
        if text in _FILE_NAMES:
            return cls(text)  # type: ignore[arg-type]
        raise ValueError(f"not a graph key: {text!r} (expected classifier, predictor or path_<R>)")

    @classmethod
    def from_file_name(cls, name: str) -> "GraphKey | None":
        """The key of a file in a model folder, or None for a file that is no graph of ours."""
        if m := _PATH_FILE.match(name):
            return cls("path", int(m.group(1)))
        for role, file_name in _FILE_NAMES.items():
            if name == file_name:
                return cls(role)  # type: ignore[arg-type]
        return None


CLASSIFIER = GraphKey("classifier")
PREDICTOR = GraphKey("predictor")


def path_key(resolution: int) -> GraphKey:
    return GraphKey("path", resolution)


_ONNX_TYPES = {
    np.dtype(np.int16): "tensor(int16)",
    np.dtype(np.float32): "tensor(float)",
    np.dtype(np.uint8): "tensor(uint8)",
}


@dataclass(frozen=True)
class TensorSpec:
    """One graph input: its name, numpy dtype and per-image shape (the batch axis ``N`` comes first)."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def onnx_type(self) -> str:
        """ONNX Runtime's type string, e.g. ``tensor(int16)``."""
        return _ONNX_TYPES[np.dtype(self.dtype)]

    @property
    def nbytes(self) -> int:
        """Bytes of one image's tensor."""
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    def zeros(self, batch: int) -> np.ndarray:
        return np.zeros((batch, *self.shape), dtype=self.dtype)


def tensor(name: str, dtype: type, *shape: int) -> TensorSpec:
    return TensorSpec(name, np.dtype(dtype), tuple(int(s) for s in shape))
