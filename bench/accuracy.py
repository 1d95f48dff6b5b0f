"""Accuracy through the running service (not a test): every served model on the validation split, over HTTP.

What `make run` answers is what is measured: the server reads each JPEG itself, exactly as in production.
Prints top-1 per model, the paired comparison against --baseline (photos right only for one of the two,
McNemar's exact p), and the top-1 agreement of each ``<name>_int8`` with its float twin.

    .venv/bin/python bench/accuracy.py --data ../shared/data/imagewoof2-320/train
"""

import argparse
import asyncio
import json
import math
import sys
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_service import REPO, server_url  # noqa: E402
from models.paired import mcnemar  # noqa: E402  (numpy only, no torch)
from models.train.data import scan_folder, stratified_split  # noqa: E402  (numpy only, no torch)


async def predictions(client: httpx.AsyncClient, model: str, files: list[Path], concurrency: int) -> list[str]:
    out: list[str] = [""] * len(files)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            r = await client.post(
                f"/v1/models/{model}/classify",
                content=files[i].read_bytes(),
                headers={"content-type": "image/jpeg"},
                params={"top_k": 1},
            )
            r.raise_for_status()
            out[i] = r.json()["predictions"][0]["class_id"]

    await asyncio.gather(*(one(i) for i in range(len(files))))
    return out


async def measure(args: argparse.Namespace, url: str) -> dict:
    data = scan_folder(args.data)
    _, val_idx = stratified_split(data.targets, args.val_fraction, args.seed)
    files = [data.files[i] for i in val_idx]
    truth = np.array([data.class_ids[data.targets[i]] for i in val_idx])
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        served = [m["name"] for m in (await client.get("/v1/models")).json()["models"]]
        models = [m for m in served if not args.models or m in args.models]
        right: dict[str, np.ndarray] = {}
        preds: dict[str, np.ndarray] = {}
        for m in models:
            preds[m] = np.array(await predictions(client, m, files, args.concurrency))
            right[m] = preds[m] == truth
    n = len(files)
    report: dict = {"photos": n, "models": {}}
    print(f"validation split: {n} photos (stratified {args.val_fraction:g}, seed {args.seed}) through {url}")
    for m in models:
        top1 = float(right[m].mean())
        row: dict = {"top1": top1, "se": math.sqrt(top1 * (1 - top1) / n)}
        line = f"{m:<24} top-1 {100 * top1:5.1f}% ± {100 * row['se']:.1f}"
        if args.baseline in right and m != args.baseline:
            paired = mcnemar(right[m], right[args.baseline])
            row["against"] = {"model": args.baseline, **paired}
            line += (
                f"   vs {args.baseline}: {paired['only_this_right']} right only here, "
                f"{paired['only_other_right']} only there, McNemar p = {paired['p_value']:.3g}"
            )
        twin = m.removesuffix("_int8")
        if m.endswith("_int8") and twin in preds:
            agree = float((preds[m] == preds[twin]).mean())
            row["agreement_with_float"] = agree
            line += f"   top-1 agreement with {twin}: {100 * agree:.1f}%"
        report["models"][m] = row
        print(line)
    return report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "imagewoof2-320" / "train")
    p.add_argument("--model-dir", type=Path, default=REPO / "bundled")
    p.add_argument("--models", nargs="*", help="only these models (default: every served one)")
    p.add_argument("--baseline", default="rgb_resnet")
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--url", help="a running server (loopback) instead of starting one")
    p.add_argument("--json", type=Path, help="also write the report here")
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra FREQSERVE_* settings")
    args = p.parse_args()
    with server_url(args) as url:
        report = asyncio.run(measure(args, url))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
