"""The training loop every stage shares: input statistics, AdamW + one-cycle, epochs with a checkpoint each
(``--resume``), prediction in eval mode."""

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from models.train.batches import Batches


def input_stats(model: nn.Module, batches: Batches, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean/std of the network input over (up to 2000) training images, centre crops."""
    sel = idx[:: max(1, len(idx) // 2000)]
    total, total_sq, count = 0.0, 0.0, 0
    for chunk in np.array_split(sel, max(1, len(sel) // 200)):
        x = model.stats_input(*batches.get(chunk, None)).double()
        total = total + x.sum(dim=(0, 2, 3))
        total_sq = total_sq + (x**2).sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    std = (total_sq / count - mean**2).clamp_min(1e-6).sqrt()
    return mean.float(), std.float()


def run_metrics(args: argparse.Namespace, train_idx: np.ndarray, val_idx: np.ndarray) -> dict[str, Any]:
    """What every run's metrics.json starts with: the model, the arguments, the split sizes."""
    return {"model": args.model, "args": vars(args), "train_images": len(train_idx), "val_images": len(val_idx)}


def param_groups(model: nn.Module, weight_decay: float, lr: float) -> list[dict[str, Any]]:
    """Weight decay on weights, none on norms and biases; the model's ``lr_scales`` get their own groups."""
    scales = model.lr_scales() if hasattr(model, "lr_scales") else {}
    decay, no_decay = [], []
    scaled: dict[str, list[nn.Parameter]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name in scales:
            scaled.setdefault(name, []).append(p)
        else:
            (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay, "lr": lr},
        {"params": no_decay, "weight_decay": 0.0, "lr": lr},
    ]
    return groups + [{"params": ps, "weight_decay": 0.0, "lr": lr * scales[n]} for n, ps in scaled.items()]


@torch.no_grad()
def predict(model: nn.Module, batches: Batches, idx: np.ndarray, batch_size: int = 128, **kw: Any) -> np.ndarray:
    model.eval()
    out = []
    for chunk in np.array_split(idx, max(1, math.ceil(len(idx) / batch_size))):
        out.append(model(*batches.get(chunk, None)) if not kw else model.forward_path(*batches.get(chunk, None), **kw))
    return torch.cat(out).numpy()


def warmup_cosine(total_steps: int, warmup_fraction: float = 0.25) -> Any:
    """One-cycle shape: linear warm-up to the peak LR, then cosine annealing to zero."""
    warmup = max(1, int(warmup_fraction * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))

    return factor


def run_epochs(
    model: nn.Module,
    step_loss: Any,
    train_idx: np.ndarray,
    epochs: int,
    args: argparse.Namespace,
    out: Path,
    evaluate: Any,
    metrics: dict[str, Any],
    save: Any,
) -> None:
    rng = np.random.default_rng(args.seed)
    steps_per_epoch = len(train_idx) // args.batch_size
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay, args.lr), lr=args.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(max(1, epochs * steps_per_epoch)))
    start = 0
    ckpt_path = out / "checkpoint.pt"
    if args.resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        rng = state["rng"]
        start = state["epoch"]
        metrics.update(state["metrics"])
        print(f"resumed from {ckpt_path} at epoch {start}")
    stop = min(epochs, start + args.stop_after) if args.stop_after else epochs
    for epoch in range(start, stop):
        model.train()
        t0 = time.perf_counter()
        perm = rng.permutation(train_idx)
        losses, correct, seen = [], 0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{epochs}", leave=False, mininterval=5)
        for step in bar:
            idx = perm[step * args.batch_size : (step + 1) * args.batch_size]
            loss, logits, targets = step_loss(idx, rng)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            correct += int((logits.argmax(1) == targets).sum())
            seen += len(targets)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        row = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "train_top1": correct / max(seen, 1),
            "seconds": time.perf_counter() - t0,
            **evaluate(),
        }
        metrics.setdefault("epochs", []).append(row)
        print(json.dumps(row), flush=True)
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "sched": sched.state_dict(),
                "rng": rng,
                "epoch": epoch + 1,
                "metrics": metrics,
            },
            ckpt_path,
        )
        save()
