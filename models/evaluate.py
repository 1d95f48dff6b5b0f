"""Evaluate a checkpoint on the validation split (same seed and fraction as training).

    python -m models.evaluate --checkpoint runs/dct24_resnet/final.pt --data ../shared/data/imagewoof2-320/train

Reports top-1, per-class top-1, parameters, GFLOPs (multiply-accumulates, as in the ResNet and DRNet papers,
counted by thop) and the bytes per image handed to the network. ``--against OTHER.pt`` adds a paired
comparison on the same photos: how many only each model gets right, and McNemar's exact two-sided p-value.
"""

import argparse
import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.checkpoint import load_model
from models.data import ImageFolder, scan_folder, stratified_split


def count_gflops(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
    """Multiply-accumulates of one forward pass, in billions (thop hooks convs, linears, norms, pools)."""
    from thop import profile

    macs, _ = profile(copy.deepcopy(model).eval(), inputs=inputs, verbose=False)
    return float(macs) / 1e9


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def example_inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    c = model.contract
    if c.kind == "dct":
        p = c.channel_preset
        (gh, gw), (ch, cw) = c.grid, c.chroma_grid
        return (
            torch.zeros(1, len(p.luma), gh, gw, dtype=torch.int16),
            torch.zeros(1, 2 * len(p.chroma), ch, cw, dtype=torch.int16),
            torch.ones(1, len(p.luma)),
            torch.ones(1, 2 * len(p.chroma)),
        )
    return (torch.zeros(1, c.size, c.size, 3, dtype=torch.uint8),)


def per_class_top1(logits: np.ndarray, targets: np.ndarray, labels: tuple[str, ...]) -> dict[str, float]:
    pred = logits.argmax(1)
    return {labels[c]: float((pred[targets == c] == c).mean()) for c in np.unique(targets)}


def mcnemar(this_correct: np.ndarray, other_correct: np.ndarray) -> dict[str, Any]:
    """Paired comparison of two classifiers on the same images: discordant counts and McNemar's exact
    (binomial) two-sided p-value for "both are equally accurate"."""
    a, b = np.asarray(this_correct, bool), np.asarray(other_correct, bool)
    only_this, only_other = int((a & ~b).sum()), int((~a & b).sum())
    n, k = only_this + only_other, min(only_this, only_other)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0
    return {"only_this_right": only_this, "only_other_right": only_other, "p_value": p}


def evaluate(
    checkpoint: str | Path,
    data_dir: str | Path,
    cache_dir: str | Path = ".cache/inputs",
    against: str | Path | None = None,
) -> dict[str, Any]:
    report, correct, val_idx = _evaluate(checkpoint, data_dir, cache_dir)
    if against is not None:
        other, other_correct, other_idx = _evaluate(against, data_dir, cache_dir)
        if not np.array_equal(val_idx, other_idx):
            raise ValueError("the two checkpoints were validated on different splits (seed or fraction differ)")
        report["against"] = {"checkpoint": str(against), "top1": other["top1"], **mcnemar(correct, other_correct)}
    return report


def _evaluate(
    checkpoint: str | Path, data_dir: str | Path, cache_dir: str | Path
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The report, whether each validation photo was classified right, and the validation indices."""
    from models.train import make_batches, predict, top1

    model, ckpt = load_model(checkpoint)
    args = ckpt.get("metrics", {}).get("args", {})
    data = scan_folder(data_dir)
    _, val_idx = stratified_split(data.targets, args.get("val_fraction", 0.1), args.get("seed", 0))
    c = model.contract
    report: dict[str, Any] = {
        "model": ckpt["model"],
        "checkpoint": str(checkpoint),
        "val_images": len(val_idx),
        "params": count_params(model),
    }
    if c.kind == "drnet":
        drnet, correct = _evaluate_drnet(model, data, val_idx, Path(cache_dir))
        report.update(drnet)
        return report, correct, val_idx
    batches = make_batches(model, list(data.files), Path(cache_dir))
    logits = predict(model, batches, val_idx)
    targets = data.targets[val_idx]
    report.update(
        top1=top1(logits, targets),
        per_class_top1=per_class_top1(logits, targets, c.labels),
        gflops=count_gflops(model, example_inputs(model)),
        input_bytes=c.input_bytes(),
    )
    return report, logits.argmax(1) == targets, val_idx


def _evaluate_drnet(
    model: nn.Module, data: ImageFolder, val_idx: np.ndarray, cache_dir: Path
) -> tuple[dict[str, Any], np.ndarray]:
    """Every path on the validation images, then the predictor's choice: dynamic top-1 and mean cost."""
    from models.data import rgb_arrays, thumbnail_arrays
    from models.train import RgbBatches, predict, top1
    from models.train_drnet import dynamic_metrics, path_gflops

    c = model.contract
    files = list(data.files)
    thumbs = torch.from_numpy(np.asarray(thumbnail_arrays(files, c.thumbnail, cache_dir)["thumbnail"]))
    logits = np.zeros((len(files), len(c.resolutions), c.num_classes), dtype=np.float32)
    for i, r in enumerate(c.resolutions):
        batches = RgbBatches(rgb_arrays(files, c.resize_short_for(r), cache_dir), r)
        logits[val_idx, i] = predict(model, batches, val_idx, index=i)
    flops = torch.tensor(path_gflops(model))
    predictor_gflops = count_gflops(model.predictor, (thumbs[:1],))
    dyn = dynamic_metrics(model, thumbs, logits, data.targets, val_idx, flops, "val")
    with torch.no_grad():
        choice = model.predictor(thumbs[torch.from_numpy(val_idx)]).argmax(1).numpy()
    targets = data.targets[val_idx]
    chosen = logits[val_idx, choice]
    report = {
        "top1": dyn["val_dynamic_top1"],
        "per_class_top1": per_class_top1(chosen, targets, c.labels),
        "path_top1": {str(r): top1(logits[val_idx, i], targets) for i, r in enumerate(c.resolutions)},
        "path_gflops": {str(r): float(f) for r, f in zip(c.resolutions, flops, strict=True)},
        "predictor_gflops": predictor_gflops,
        "gflops": predictor_gflops + float(flops[choice].mean()),
        "gflops_ratio_vs_full_path": float((predictor_gflops + flops[choice].mean()) / flops[0]),
        "choice_share": {str(r): float((choice == i).mean()) for i, r in enumerate(c.resolutions)},
        "input_bytes": float(np.mean([c.input_bytes(c.resolutions[i]) for i in choice]) + 3 * c.thumbnail**2 * 4),
    }
    return report, chosen.argmax(1) == targets


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--cache-dir", default=".cache/inputs")
    p.add_argument("--json", default=None, help="also write the report here")
    p.add_argument("--against", default=None, help="another checkpoint: paired comparison on the same photos")
    a = p.parse_args(argv)
    report = evaluate(a.checkpoint, a.data, a.cache_dir, a.against)
    text = json.dumps(report, indent=2)
    print(text)
    if a.json:
        Path(a.json).write_text(text)


if __name__ == "__main__":
    main()
