"""Train a registered model on an image folder (class sub-folders).

    python -m models.train --model dct24_resnet --data ../shared/data/imagewoof2-320/train --epochs 16
    python -m models.train --model drnet_resnet --init-from runs/rgb_resnet/final.pt --epochs 2 ...

Stratified validation split carved from the training folder by a fixed seed; inputs cached by
``models.train.data`` (the serving preprocessing of ``inputs``); augmentation exact in the DCT domain
(block-grid random crop, horizontal flip), the same geometry for RGB; AdamW + one-cycle (warm-up, cosine);
label smoothing; a checkpoint per epoch (``--resume``); a JSON metrics file per run.
"""

import argparse
import json
from pathlib import Path

import torch

from models.registry import create_model
from models.train.classifier import train_classifier
from models.train.data import scan_folder, stratified_split
from models.train.drnet import train_drnet

# How each model kind trains: one-graph kinds by cross-entropy, DRNet in its two stages.
TRAINERS = {"dct": train_classifier, "rgb": train_classifier, "drnet": train_drnet, "dct_drnet": train_drnet}


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
    p.add_argument(
        "--scale-aug",
        type=float,
        default=0.0,
        help="random-resized training crops: area fraction of the cached square drawn from [SCALE_AUG, 1], "
        "aspect 3/4..4/3, resized to the model's crop (RGB and DCT alike; DCT crops re-transformed as with "
        "--dct-pixel-crops; a DRNet cuts one drawn box at every resolution). 0: fixed-size crops",
    )
    p.add_argument("--model-kwargs", type=json.loads, default={}, help="JSON, e.g. '{\"widths\": [32,64,128,256]}'")
    # DRNet
    p.add_argument(
        "--init-from",
        default=None,
        help="a trained checkpoint to start from: for a one-graph model the same architecture (fine-tuning); "
        "for DRNet an RGB checkpoint whose weights start every path, or a trained DRNet checkpoint "
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
    model = create_model(args.model, **args.model_kwargs)
    TRAINERS[model.contract.kind](model, args, data, train_idx, val_idx)


if __name__ == "__main__":
    main()
