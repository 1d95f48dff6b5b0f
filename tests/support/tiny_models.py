"""Tiny instances of the registered torch models, and random inputs for them (torch tests only)."""

import numpy as np
import torch

from inputs.graphs import GraphKey
from inputs.kinds import graph_specs
from models.registry import create_model

TINY = {"widths": (8, 8, 16, 16), "depths": (1, 1, 1, 1)}
NUM_CLASSES = 7  # a non-default class count

# Per kind: what makes a model of that kind tiny besides the body (grid or pixel sizes).
TINY_INPUTS = {
    "dct": {"grid": (8, 8)},
    "rgb": {"size": 64, "resize_short": 80},
    "drnet": {"resolutions": (64, 48, 32), "resize_short": 80, "thumbnail": 8},
    "dct_drnet": {"resolutions": (64, 32), "thumbnail": 8, "source_short": 64},
}

# Per model: what its family needs beyond its kind's tiny inputs (four octave stages need a grid of 16).
TINY_BY_NAME = {"octave_dct_resnet": {"grid": (16, 16)}}


def tiny(name: str, **extra: object) -> torch.nn.Module:
    """A tiny instance of a registered model; ``extra`` kwargs override or add to the tiny defaults."""
    kind = create_model(name, num_classes=NUM_CLASSES).contract.kind
    return create_model(
        name, num_classes=NUM_CLASSES, **(TINY | TINY_INPUTS[kind] | TINY_BY_NAME.get(name, {}) | extra)
    )


# Per input dtype: a plausible random range (quantized coefficients, quantization steps, pixels).
_RANDOM = {
    np.dtype(np.int16): lambda shape: torch.randint(-60, 60, shape, dtype=torch.int16),
    np.dtype(np.float32): lambda shape: torch.rand(shape) * 10 + 1,
    np.dtype(np.uint8): lambda shape: torch.randint(0, 256, shape, dtype=torch.uint8),
}


def batch_inputs(model: torch.nn.Module, n: int = 3, key: GraphKey | None = None) -> tuple[torch.Tensor, ...]:
    """Random inputs of graph ``key`` (default: the model's first graph, the classifier of one-graph kinds)."""
    specs = graph_specs(model.contract)
    spec = specs[key] if key is not None else next(iter(specs.values()))
    return tuple(_RANDOM[np.dtype(t.dtype)]((n, *t.shape)) for t in spec.inputs)
