"""Evaluate a checkpoint on the validation split (same seed and fraction as training).

    python -m models.evaluate --checkpoint runs/dct24_resnet/final.pt --data ../shared/data/imagewoof2-320/train

Reports top-1, per-class top-1, parameters, GFLOPs (multiply-accumulates, as in the ResNet and DRNet papers,
counted by thop) and the bytes per image handed to the network. ``--against OTHER.pt`` adds a paired
comparison on the same photos: how many only each model gets right, and McNemar's exact two-sided p-value.
"""

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inputs.graphs import PREDICTOR, path_key
from inputs.kinds import entry_graph, graph_specs
from models.checkpoint import load_model
from models.measure import count_gflops, count_params, example_inputs, per_class_top1, top1, train_seconds
from models.paired import mcnemar
from models.train.batches import make_batches, path_batches
from models.train.data import ImageFolder, scan_folder, stratified_split, thumbnail_arrays
from models.train.drnet import dynamic_metrics, path_gflops
from models.train.loop import predict

Evaluator = Callable[[nn.Module, ImageFolder, np.ndarray, Path], tuple[dict[str, Any], np.ndarray]]


def served_name(checkpoint: str | Path) -> str:
    path = Path(checkpoint)
    return path.parent.name if path.stem in ("final", "checkpoint") else path.stem


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
    model, ckpt = load_model(checkpoint)
    args = ckpt.get("metrics", {}).get("args", {})
    data = scan_folder(data_dir)
    _, val_idx = stratified_split(data.targets, args.get("val_fraction", 0.1), args.get("seed", 0))
    report: dict[str, Any] = {
        # The served name is the checkpoint's file name (checkpoints/<name>.pt, runs/<name>/final.pt);
        # several served models can share one registered factory with other kwargs.
        "model": served_name(checkpoint),
        "registered_model": ckpt["model"],
        "checkpoint": str(checkpoint),
        "val_images": len(val_idx),
        "params": count_params(model),
        # Training wall time of this checkpoint (DRNet: its own stages, not the checkpoint it started from).
        "train_seconds": train_seconds(ckpt.get("metrics", {})),
    }
    figures, correct = EVALUATORS[model.contract.kind](model, data, val_idx, Path(cache_dir))
    report.update(figures)
    report.update(model.structure())
    return report, correct, val_idx


def _evaluate_single(
    model: nn.Module, data: ImageFolder, val_idx: np.ndarray, cache_dir: Path
) -> tuple[dict[str, Any], np.ndarray]:
    """One-graph kinds: the classifier on the centre crops of the validation images."""
    c = model.contract
    logits = predict(model, make_batches(model, list(data.files), cache_dir), val_idx)
    targets = data.targets[val_idx]
    report = {
        "top1": top1(logits, targets),
        "per_class_top1": per_class_top1(logits, targets, c.labels),
        "gflops": count_gflops(model, example_inputs(model)),
        "input_bytes": entry_graph(c).input_bytes,
    }
    return report, logits.argmax(1) == targets


def _evaluate_drnet(
    model: nn.Module, data: ImageFolder, val_idx: np.ndarray, cache_dir: Path
) -> tuple[dict[str, Any], np.ndarray]:
    """Every path on the validation images, then the predictor's choice: dynamic top-1 and mean cost."""
    c = model.contract
    specs = graph_specs(c)
    files = list(data.files)
    thumbs = torch.from_numpy(np.asarray(thumbnail_arrays(files, c.thumbnail, cache_dir)["thumbnail"]))
    logits = np.zeros((len(files), len(c.resolutions), c.num_classes), dtype=np.float32)
    for i, batches in enumerate(path_batches(c, files, cache_dir)):
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
        "input_bytes": float(
            np.mean([specs[path_key(c.resolutions[i])].input_bytes for i in choice]) + specs[PREDICTOR].input_bytes
        ),
    }
    return report, chosen.argmax(1) == targets


# How each model kind is evaluated: one graph, or DRNet's every path plus the predictor's choice.
EVALUATORS: dict[str, Evaluator] = {
    "dct": _evaluate_single,
    "rgb": _evaluate_single,
    "drnet": _evaluate_drnet,
    "dct_drnet": _evaluate_drnet,
}


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
