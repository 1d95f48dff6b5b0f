"""``python -m export --model NAME --checkpoint PATH --out DIR [--parity-data DIR] [--triton-repo DIR]``"""

import argparse
import json
import random
import sys

from export.onnx_export import export_model
from export.parity import ParityError, assert_parity, check_parity
from export.triton import parse_config, write_triton_repo
from models.checkpoint import load_model
from models.train.data import scan_folder, stratified_split


def parity_images(data_dir: str, count: int, seed: int) -> list[bytes]:
    """``count`` training-split images (the split the checkpoint was trained on), seeded sample."""
    data = scan_folder(data_dir)
    train_idx, _ = stratified_split(data.targets, 0.1, 0)
    rng = random.Random(seed)
    return [data.files[i].read_bytes() for i in rng.sample(list(train_idx), min(count, len(train_idx)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Export a trained checkpoint to ONNX (+ parity check, Triton repo).")
    p.add_argument("--model", required=True, help="served name, e.g. dct24_resnet")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", default="bundled")
    p.add_argument("--parity-data", default=None, help="image folder for the ONNX Runtime vs torch check")
    p.add_argument("--parity-count", type=int, default=300)
    p.add_argument("--triton-repo", default=None, help="also write a Triton model repository here")
    a = p.parse_args(argv)
    model, _ = load_model(a.checkpoint)
    paths = export_model(model, a.model, a.out)
    summary: dict[str, object] = {"files": {str(x): x.stat().st_size for x in paths}}
    if a.parity_data:
        report = check_parity(model, paths, parity_images(a.parity_data, a.parity_count, seed=1))
        summary["parity"] = report
        try:
            assert_parity(report)
        except ParityError as e:
            print(json.dumps(summary, indent=2), file=sys.stderr)
            print(f"parity check failed: {e}", file=sys.stderr)
            return 1
    if a.triton_repo:
        configs = write_triton_repo(paths, a.model, a.triton_repo)
        for cfg in configs:
            parse_config(cfg.read_text())
        summary["triton"] = [str(c) for c in configs]
    print(json.dumps(summary, indent=2))
    return 0
