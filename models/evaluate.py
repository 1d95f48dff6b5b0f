"""Evaluate a checkpoint on the validation split (same seed and fraction as training).

    python -m models.evaluate --checkpoint runs/dct24_resnet/final.pt --data ../shared/data/imagewoof2-320/train

Reports top-1, per-class top-1, parameters, GFLOPs (multiply-accumulates, as in the ResNet and DRNet papers,
counted by thop) and the bytes per image handed to the network.
"""

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.checkpoint import load_model
from models.data import scan_folder, stratified_split


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


def evaluate(checkpoint: str | Path, data_dir: str | Path, cache_dir: str | Path = ".cache/inputs") -> dict[str, Any]:
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
        from models.train_drnet import path_gflops

        report["path_gflops"] = path_gflops(model)
        report.update(ckpt.get("metrics", {}).get("final", {}))
        report["input_bytes"] = {str(r): c.input_bytes(r) + 3 * c.thumbnail**2 * 4 for r in c.resolutions}
        return report
    batches = make_batches(model, list(data.files), Path(cache_dir))
    logits = predict(model, batches, val_idx)
    targets = data.targets[val_idx]
    report.update(
        top1=top1(logits, targets),
        per_class_top1=per_class_top1(logits, targets, c.labels),
        gflops=count_gflops(model, example_inputs(model)),
        input_bytes=c.input_bytes(),
    )
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--cache-dir", default=".cache/inputs")
    p.add_argument("--json", default=None, help="also write the report here")
    a = p.parse_args(argv)
    report = evaluate(a.checkpoint, a.data, a.cache_dir)
    text = json.dumps(report, indent=2)
    print(text)
    if a.json:
        Path(a.json).write_text(text)


if __name__ == "__main__":
    main()
