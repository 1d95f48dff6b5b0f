"""Train a registered model on an image folder (class sub-folders).

    python -m models.train --model dct24_resnet --data ../shared/data/imagewoof2-320/train --epochs 16
    python -m models.train --model drnet_resnet --init-from runs/rgb_resnet/final.pt --epochs 2 ...

Stratified validation split carved from the training folder by a fixed seed; inputs cached by
``models.data`` (the serving preprocessing); augmentation exact in the DCT domain (block-grid random crop,
horizontal flip), the same geometry for RGB; AdamW + one-cycle (warm-up, cosine); label smoothing; a checkpoint
per epoch (``--resume``); a JSON metrics file per run.
"""

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from jpegdct.blocks import hflip
from models.checkpoint import save_model
from models.data import ImageFolder, dct_arrays, rgb_arrays, scan_folder, stratified_split
from models.dct_augment import shifted_crops
from models.registry import create_model

DCT_MARGIN = 8  # blocks of random-crop margin around the served grid


# ---------------------------------------------------------------- batches
def chroma_offset(luma_offset: int, rng: np.random.Generator) -> int:
    """4:2:0 chroma block offset for a luma block offset: exact when even, else the nearer block on a random side."""
    if luma_offset % 2 == 0:
        return luma_offset // 2
    return (luma_offset + int(rng.integers(0, 2))) // 2


class DctBatches:
    """Block-grid random crops + flips of cached DCT inputs (centre crop when ``rng`` is None).

    ``crop_step`` is the luma-block granularity of the random offsets. With 1, odd offsets put the 4:2:0
    chroma half a chroma block (8 px) off the luma; chroma then takes the nearer block on a random side.
    Luma crops are exact either way; 2 keeps chroma exact too but gives 4x fewer distinct crops.
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        channels: tuple[tuple[int, ...], tuple[int, ...]],
        grid: tuple[int, int],
        crop_step: int = 1,
    ):
        if crop_step not in (1, 2):
            raise ValueError(f"crop_step must be 1 or 2, got {crop_step}")
        self.a = arrays
        self.luma_ch, self.chroma_ch = channels
        self.grid = grid
        self.crop_step = crop_step

    def get(self, idx: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        gh, gw = self.grid
        luma = np.asarray(self.a["luma"][idx])
        chroma = np.asarray(self.a["chroma"][idx])
        n = len(idx)
        ys = np.empty((n, luma.shape[1], gh, gw), np.int16)
        cs = np.empty((n, chroma.shape[1], gh // 2, gw // 2), np.int16)
        margin = luma.shape[2] - gh
        for i in range(n):
            if rng is None:
                top = left = margin // 4 * 2  # the centre, rounded to keep chroma aligned
                ctop = cleft = top // 2
            else:
                top, left = self.crop_step * rng.integers(0, margin // self.crop_step + 1, size=2)
                ctop, cleft = chroma_offset(top, rng), chroma_offset(left, rng)
            y = luma[i, :, top : top + gh, left : left + gw]
            c = chroma[i, :, ctop : ctop + gh // 2, cleft : cleft + gw // 2]
            if rng is not None and rng.random() < 0.5:
                y, c = hflip(y, self.luma_ch), hflip(c, self.chroma_ch * 2)
            ys[i], cs[i] = y, c
        return (
            torch.from_numpy(ys),
            torch.from_numpy(cs),
            torch.from_numpy(np.asarray(self.a["luma_q"][idx])),
            torch.from_numpy(np.asarray(self.a["chroma_q"][idx])),
        )


class PixelCropDctBatches:
    """Training crops at any pixel offset, as the RGB recipe's, from a cache of all 64 coefficients per
    component: each crop is re-transformed and requantized (``models.dct_augment``), like a re-encode of the
    shifted photo. Centre crops (``rng`` None: input statistics, validation) come exactly from ``exact``.

    At an odd luma pixel offset, 4:2:0 chroma takes the nearer chroma pixel on a random side.
    """

    def __init__(self, exact: DctBatches, full: dict[str, np.ndarray]):
        self.exact = exact
        self.full = full

    def get(self, idx: np.ndarray, rng: np.random.Generator | None) -> tuple[torch.Tensor, ...]:
        if rng is None:
            return self.exact.get(idx, None)
        gh, gw = self.exact.grid
        luma_ch, chroma_ch = self.exact.luma_ch, self.exact.chroma_ch
        luma, chroma = np.asarray(self.full["luma"][idx]), np.asarray(self.full["chroma"][idx])
        luma_q, chroma_q = np.asarray(self.full["luma_q"][idx]), np.asarray(self.full["chroma_q"][idx])
        n = len(idx)
        offsets = rng.integers(0, 8 * (luma.shape[2] - gh) + 1, size=(n, 2))
        flips = rng.random(n) < 0.5
        coffsets = np.array([[chroma_offset(int(o), rng) for o in row] for row in offsets])
        y = shifted_crops(luma, luma_q, offsets, flips, (gh, gw), luma_ch)
        # Cb and Cr are two planes of 64 channels each: crop them as 2n single-component images.
        c = shifted_crops(
            chroma.reshape(2 * n, 64, *chroma.shape[2:]),
            chroma_q.reshape(2 * n, 64),
            np.repeat(coffsets, 2, axis=0),
            np.repeat(flips, 2),
            (gh // 2, gw // 2),
            chroma_ch,
        ).reshape(n, 2 * len(chroma_ch), gh // 2, gw // 2)
        cq = np.concatenate([chroma_q[:, list(chroma_ch)], chroma_q[:, [64 + k for k in chroma_ch]]], axis=1)
        return (
            torch.from_numpy(y),
            torch.from_numpy(c),
            torch.from_numpy(np.ascontiguousarray(luma_q[:, list(luma_ch)])),
            torch.from_numpy(np.ascontiguousarray(cq)),
        )


class RgbBatches:
    def __init__(self, arrays: dict[str, np.ndarray], size: int):
        self.a = arrays
        self.size = size

    def get(
        self, idx: np.ndarray, rng: np.random.Generator | None, pos: np.ndarray | None = None
    ) -> tuple[torch.Tensor]:
        """``pos``: optional [n, 3] relative (top, left, flip) so several resolutions see the same crop."""
        img = np.asarray(self.a["image"][idx])
        s, big = self.size, img.shape[1]
        out = np.empty((len(idx), s, s, 3), np.uint8)
        for i in range(len(idx)):
            if pos is not None:
                top, left, flip = round(pos[i, 0] * (big - s)), round(pos[i, 1] * (big - s)), pos[i, 2] > 0.5
            elif rng is None:
                top = left = (big - s) // 2
                flip = False
            else:
                top, left = rng.integers(0, big - s + 1, size=2)
                flip = rng.random() < 0.5
            crop = img[i, top : top + s, left : left + s]
            out[i] = crop[:, ::-1] if flip else crop
        return (torch.from_numpy(out),)


def make_batches(
    model: nn.Module, files: list[Path], cache_dir: Path, dct_crop_step: int = 1, dct_pixel_crops: bool = False
) -> Any:
    c = model.contract
    if c.kind == "dct":
        p = c.channel_preset
        arrays = dct_arrays(files, c, DCT_MARGIN, cache_dir)
        exact = DctBatches(arrays, (p.luma, p.chroma), c.grid, crop_step=dct_crop_step)
        if not dct_pixel_crops:
            return exact
        return PixelCropDctBatches(exact, dct_arrays(files, replace(c, preset="dct192"), DCT_MARGIN, cache_dir))
    return RgbBatches(rgb_arrays(files, c.resize_short, cache_dir), c.size)


# ---------------------------------------------------------------- statistics
def input_stats(model: nn.Module, batches: Any, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean/std of the network input over (up to 2000) training images, centre crops."""
    sel = idx[:: max(1, len(idx) // 2000)]
    total, total_sq, count = 0.0, 0.0, 0
    for chunk in np.array_split(sel, max(1, len(sel) // 200)):
        inputs = batches.get(chunk, None)
        if model.contract.kind == "dct":
            x = model.dequantize(*inputs).double()
        else:
            x = inputs[0].permute(0, 3, 1, 2).double()
        total = total + x.sum(dim=(0, 2, 3))
        total_sq = total_sq + (x**2).sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    std = (total_sq / count - mean**2).clamp_min(1e-6).sqrt()
    return mean.float(), std.float()


# ---------------------------------------------------------------- loops
def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@torch.no_grad()
def predict(model: nn.Module, batches: Any, idx: np.ndarray, batch_size: int = 128, **kw: Any) -> np.ndarray:
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
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr)
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


def top1(logits: np.ndarray, targets: np.ndarray) -> float:
    return float((logits.argmax(1) == targets).mean())


# ---------------------------------------------------------------- entry points
def train_classifier(args: argparse.Namespace, data: ImageFolder, train_idx: np.ndarray, val_idx: np.ndarray) -> None:
    out = Path(args.out)
    model = create_model(args.model, **args.model_kwargs)
    files = list(data.files)
    batches = make_batches(
        model, files, Path(args.cache_dir), dct_crop_step=args.dct_crop_step, dct_pixel_crops=args.dct_pixel_crops
    )
    mean, std = input_stats(model, batches, train_idx)
    model.set_input_stats(mean, std)
    model.contract = model.contract.with_stats(mean.tolist(), std.tolist())
    targets = torch.from_numpy(data.targets)
    metrics: dict[str, Any] = {
        "model": args.model,
        "args": vars(args),
        "train_images": len(train_idx),
        "val_images": len(val_idx),
    }

    def step_loss(idx: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits = model(*batches.get(idx, rng))
        y = targets[idx]
        return F.cross_entropy(logits, y, label_smoothing=args.label_smoothing), logits.detach(), y

    def evaluate() -> dict[str, float]:
        return {"val_top1": top1(predict(model, batches, val_idx), data.targets[val_idx])}

    def save() -> None:
        save_model(out / "final.pt", args.model, args.model_kwargs, model, {"metrics": metrics})

    t0 = time.perf_counter()
    run_epochs(model, step_loss, train_idx, args.epochs, args, out, evaluate, metrics, save)
    metrics["train_seconds"] = time.perf_counter() - t0
    save()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="image folder with one sub-folder per class")
    p.add_argument("--out", default=None, help="run folder (default runs/<model>)")
    p.add_argument("--cache-dir", default=".cache/inputs")
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    p.add_argument("--max-steps", type=int, default=0, help="cap steps per epoch (smoke runs)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--stop-after", type=int, default=0, help="stop after this many epochs (time-sliced runs)")
    p.add_argument(
        "--dct-crop-step",
        type=int,
        default=1,
        choices=(1, 2),
        help="DCT random-crop granularity in luma blocks (2: chroma-exact, 4x fewer crops)",
    )
    p.add_argument(
        "--dct-pixel-crops",
        action="store_true",
        help="DCT random crops at any pixel offset, as RGB's: each crop is re-transformed from all 64 "
        "coefficients and requantized with the photo's tables (training only; validation stays exact)",
    )
    p.add_argument("--model-kwargs", type=json.loads, default={}, help="JSON, e.g. '{\"widths\": [32,64,128,256]}'")
    # DRNet
    p.add_argument(
        "--init-from",
        default=None,
        help="DRNet: an RGB checkpoint whose weights start every path, or a trained DRNet checkpoint "
        "(then only the predictor is retrained)",
    )
    p.add_argument("--predictor-epochs", type=int, default=30)
    p.add_argument("--flops-target", type=float, default=0.6, help="DRNet: expected FLOPs / full-path FLOPs")
    p.add_argument("--flops-weight", type=float, default=20.0)
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.out = args.out or f"runs/{args.model}"
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = scan_folder(args.data)
    train_idx, val_idx = stratified_split(data.targets, args.val_fraction, args.seed)
    args.model_kwargs = {
        "num_classes": len(data.class_ids),
        "class_ids": list(data.class_ids),
        "labels": list(data.labels),
        **args.model_kwargs,
    }
    Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.model.startswith("drnet"):
        from models.train_drnet import train_drnet

        train_drnet(args, data, train_idx, val_idx)
    else:
        train_classifier(args, data, train_idx, val_idx)


if __name__ == "__main__":
    main()
