"""Training of one-graph models (kinds ``dct`` and ``rgb``): cross-entropy with label smoothing."""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.checkpoint import load_model, save_model
from models.measure import top1, train_seconds
from models.train.batches import make_batches
from models.train.data import ImageFolder
from models.train.loop import input_stats, predict, run_epochs, run_metrics


def init_weights(model: nn.Module, path: str | Path) -> float:
    """Load a trained checkpoint of the same architecture into ``model`` (every tensor, strictly); returns
    the training seconds behind it (part of what the fine-tuned model costs)."""
    src, ckpt = load_model(path)
    if src.contract.kind != model.contract.kind or src.contract.preset != model.contract.preset:
        raise ValueError(f"{path} is a {ckpt['model']!r} model; it cannot start this one")
    model.load_state_dict(src.state_dict())
    return train_seconds(ckpt.get("metrics", {})) or 0.0


def train_classifier(
    model: nn.Module, args: argparse.Namespace, data: ImageFolder, train_idx: np.ndarray, val_idx: np.ndarray
) -> None:
    out = Path(args.out)
    # Fine-tuning: start from trained weights (a --resume checkpoint still takes precedence).
    init_seconds = init_weights(model, args.init_from) if args.init_from else 0.0
    files = list(data.files)
    scale = (args.scale_aug, 1.0) if args.scale_aug else None
    batches = make_batches(
        model,
        files,
        Path(args.cache_dir),
        dct_crop_step=args.dct_crop_step,
        dct_pixel_crops=args.dct_pixel_crops,
        scale=scale,
    )
    mean, std = input_stats(model, batches, train_idx)
    model.set_input_stats(mean, std)
    model.contract = model.contract.with_stats(mean.tolist(), std.tolist())
    targets = torch.from_numpy(data.targets)
    metrics = run_metrics(args, train_idx, val_idx)
    if args.init_from:
        metrics["init_train_seconds"] = init_seconds

    def step_loss(idx: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits = model(*batches.get(idx, rng))
        y = targets[idx]
        loss = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing)
        aux = model.auxiliary_loss()
        return (loss if aux is None else loss + aux), logits.detach(), y

    def evaluate() -> dict[str, float]:
        return {"val_top1": top1(predict(model, batches, val_idx), data.targets[val_idx])}

    def save() -> None:
        save_model(out / "final.pt", args.model, args.model_kwargs, model, {"metrics": metrics})

    t0 = time.perf_counter()
    run_epochs(model, step_loss, train_idx, args.epochs, args, out, evaluate, metrics, save)
    metrics["train_seconds"] = time.perf_counter() - t0
    save()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
