"""DRNet training in two stages (the paper trains jointly; two stages cost a fraction on 2 CPU cores), for
both DRNet kinds (``drnet`` on pixels, ``dct_drnet`` on DCT coefficients; ``PATH_BATCHES`` feeds each).

1. Classifier: start every path from a trained one-graph checkpoint of the same body (RGB for ``drnet``,
   DCT for ``dct_drnet``: shared convs; each resolution's BN starts from its BN), then fine-tune with every
   batch seen at every candidate resolution (same relative crop: fixed-size, or with ``--scale-aug`` one
   random-resized box drawn per image), each resolution through its own BN.
2. Predictor: with the classifier frozen, the cross-entropy of every training image at every resolution is
   computed once; the predictor is trained on the DC thumbnails with hard Gumbel-softmax (straight-through)
   on those losses plus the FLOPs constraint.
"""

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inputs.graphs import path_key
from models.checkpoint import load_model, save_model
from models.drnet import DRNetPath, DynamicResolution, ResolutionBN, predictor_loss
from models.measure import count_gflops, example_inputs, top1
from models.train.augment import random_boxes
from models.train.batches import path_batches
from models.train.data import ImageFolder, thumbnail_arrays
from models.train.loop import input_stats, predict, run_epochs, run_metrics


def init_from_single(drnet: nn.Module, single: nn.Module) -> None:
    """Copy a one-graph model's weights (same body, same module names); every resolution-aware BN starts
    from the matching plain BN. The predictor keeps its own initialization."""
    src = dict(single.named_modules())
    for name, m in drnet.named_modules():
        other = src.get(name)
        if isinstance(m, ResolutionBN) and isinstance(other, nn.BatchNorm2d):
            for bn in m.bns:
                bn.load_state_dict(other.state_dict())
        elif isinstance(m, nn.Conv2d | nn.Linear) and isinstance(other, type(m)) and not name.startswith("predictor"):
            m.load_state_dict(other.state_dict())
    drnet.mean.copy_(single.mean)
    drnet.std.copy_(single.std)


def path_gflops(model: DynamicResolution) -> list[float]:
    """GFLOPs per image of each resolution's path, largest first."""
    return [
        count_gflops(DRNetPath(model, i), example_inputs(model, path_key(r)))
        for i, r in enumerate(model.contract.resolutions)
    ]


def train_drnet(
    model: nn.Module, args: argparse.Namespace, data: ImageFolder, train_idx: np.ndarray, val_idx: np.ndarray
) -> None:
    out = Path(args.out)
    c = model.contract
    files = list(data.files)
    cache = Path(args.cache_dir)
    # Random-resized crops re-transform DCT crops from all 64 coefficients, as pixel crops do.
    batches = path_batches(c, files, cache, args.dct_pixel_crops or bool(args.scale_aug))
    thumbs = torch.from_numpy(np.asarray(thumbnail_arrays(files, c.thumbnail, cache)["thumbnail"]))
    classifier_done = False
    if args.init_from:
        src, ckpt = load_model(args.init_from)
        if ckpt["model"] == args.model:  # a trained DRNet: keep its classifier, retrain only the predictor
            model.load_state_dict(src.state_dict())
            classifier_done = True
        else:
            if src.contract.preset != c.preset:  # same channel count is not the same channels
                raise ValueError(f"{args.init_from} reads preset {src.contract.preset!r}, this model {c.preset!r}")
            init_from_single(model, src)
        mean, std = src.mean.flatten(), src.std.flatten()
    else:
        mean, std = input_stats(model, batches[0], train_idx)
        model.set_input_stats(mean, std)
    model.contract = c = c.with_stats(mean.tolist(), std.tolist())
    targets = torch.from_numpy(data.targets)
    metrics = {**run_metrics(args, train_idx, val_idx), "resolutions": list(c.resolutions)}
    n_res = len(c.resolutions)

    def crops(idx: np.ndarray, rng: np.random.Generator) -> Callable[[int], tuple[torch.Tensor, ...]]:
        """Per resolution, a function of its index giving its batch: the same relative crop and flip at every
        resolution (random-resized boxes with ``--scale-aug``, else fixed-size crops)."""
        if args.scale_aug:
            boxes, flips = random_boxes(rng, len(idx), (args.scale_aug, 1.0)), rng.random(len(idx)) < 0.5
            return lambda i: batches[i].resized(idx, boxes, flips)
        pos = rng.random((len(idx), 3))
        return lambda i: batches[i].get(idx, None, pos)

    def step_loss(idx: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch = crops(idx, rng)
        y = targets[idx]
        loss = torch.zeros(())
        logits = None
        for i in range(n_res):
            out_i = model.forward_path(*batch(i), index=i)
            loss = loss + F.cross_entropy(out_i, y, label_smoothing=args.label_smoothing) / n_res
            logits = out_i.detach() if logits is None else logits
        return loss, logits, y

    def evaluate() -> dict[str, float]:
        return {
            f"val_top1_{r}": top1(predict(model, batches[i], val_idx, index=i), data.targets[val_idx])
            for i, r in enumerate(c.resolutions)
        }

    def save() -> None:
        save_model(out / "final.pt", args.model, args.model_kwargs, model, {"metrics": metrics})

    for p in model.predictor.parameters():
        p.requires_grad_(False)
    t0 = time.perf_counter()
    if args.epochs and not classifier_done:
        run_epochs(model, step_loss, train_idx, args.epochs, args, out, evaluate, metrics, save)
    metrics["classifier_seconds"] = time.perf_counter() - t0

    # Stage 2: predictor on frozen per-resolution losses.
    t1 = time.perf_counter()
    model.eval()
    all_idx = np.arange(len(files))
    logits = np.stack([predict(model, batches[i], all_idx, index=i) for i in range(n_res)], axis=1)  # [N, R, K]
    losses = F.cross_entropy(
        torch.from_numpy(logits).permute(0, 2, 1), targets[:, None].expand(-1, n_res), reduction="none"
    )  # [N, R]
    flops = torch.tensor(path_gflops(model))
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.predictor.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(model.predictor.parameters(), lr=2e-3, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    for epoch in range(args.predictor_epochs):
        model.predictor.train()
        perm = rng.permutation(train_idx)
        for s in range(0, len(perm) - args.batch_size + 1, args.batch_size):
            idx = torch.from_numpy(perm[s : s + args.batch_size])
            loss, _ = predictor_loss(
                model.predictor(thumbs[idx]), losses[idx], flops, args.flops_target, args.flops_weight
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if (epoch + 1) % 10 == 0 or epoch + 1 == args.predictor_epochs:
            print(
                json.dumps(
                    {
                        "predictor_epoch": epoch + 1,
                        **dynamic_metrics(model, thumbs, logits, data.targets, train_idx, flops, "train"),
                        **dynamic_metrics(model, thumbs, logits, data.targets, val_idx, flops, "val"),
                    }
                ),
                flush=True,
            )
    model.predictor.eval()
    metrics["predictor_seconds"] = time.perf_counter() - t1
    metrics["path_gflops"] = flops.tolist()
    metrics["final"] = {**dynamic_metrics(model, thumbs, logits, data.targets, val_idx, flops, "val")}
    save()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))


@torch.no_grad()
def dynamic_metrics(
    model: nn.Module,
    thumbs: torch.Tensor,
    path_logits: np.ndarray,
    targets: np.ndarray,
    idx: np.ndarray,
    flops: torch.Tensor,
    split: str,
) -> dict[str, Any]:
    """Top-1 when each image is classified at the predictor's argmax resolution, and its mean cost."""
    model.predictor.eval()
    choice = model.predictor(thumbs[torch.from_numpy(idx)]).argmax(1).numpy()
    chosen = path_logits[idx, choice]
    return {
        f"{split}_dynamic_top1": top1(chosen, targets[idx]),
        f"{split}_full_top1": top1(path_logits[idx, 0], targets[idx]),
        f"{split}_flops_ratio": float(flops[choice].mean() / flops[0]),
        f"{split}_choice_share": np.bincount(choice, minlength=len(flops)).tolist(),
    }
