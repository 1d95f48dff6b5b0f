"""What we report about a model: FLOPs, parameters, example inputs, top-1 (McNemar's paired test is in
``models.paired``, torch-free for the benchmarks)."""

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from inputs.graphs import GraphKey
from inputs.kinds import graph_specs


def count_gflops(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
    """Multiply-accumulates of one forward pass, in billions (thop hooks convs, linears, norms, pools)."""
    from thop import profile

    macs, _ = profile(copy.deepcopy(model).eval(), inputs=inputs, verbose=False)
    return float(macs) / 1e9


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def example_inputs(model: nn.Module, key: GraphKey | None = None, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """Zero inputs of graph ``key`` (default: the entry graph) as the kind table lists them."""
    specs = graph_specs(model.contract)
    spec = specs[key] if key is not None else next(iter(specs.values()))
    return tuple(torch.from_numpy(t.zeros(batch)) for t in spec.inputs)


def graph_gflops(model: nn.Module) -> dict[GraphKey, float]:
    """GFLOPs per image of each graph's module (``graph_modules``), counted before BatchNorm folding."""
    return {key: count_gflops(m, example_inputs(model, key)) for key, m in model.graph_modules().items()}


def top1(logits: np.ndarray, targets: np.ndarray) -> float:
    return float((logits.argmax(1) == targets).mean())


def per_class_top1(logits: np.ndarray, targets: np.ndarray, labels: tuple[str, ...]) -> dict[str, float]:
    pred = logits.argmax(1)
    return {labels[c]: float((pred[targets == c] == c).mean()) for c in np.unique(targets)}


def train_seconds(metrics: dict[str, Any]) -> float | None:
    """Epochs x the median epoch's seconds (robust to a run paused or sharing the machine for a while),
    plus DRNet's predictor stage and, for a fine-tuned model, its starting run's; None when the checkpoint
    kept no timings."""
    seconds = [row["seconds"] for row in metrics.get("epochs", [])]
    total = len(seconds) * float(np.median(seconds)) if seconds else 0.0
    total += float(metrics.get("predictor_seconds", 0.0))
    # A fine-tuned model's cost includes the run it started from (``--init-from``).
    total += float(metrics.get("init_train_seconds", 0.0))
    return total or None
