"""Accuracy through the running service (not a test): every served model on the validation split, over HTTP.

What `make run` answers is what is measured: the server reads each JPEG itself, exactly as in production.
Prints top-1 per model, the paired comparison against --baseline (photos right only for one of the two,
McNemar's exact p), and the top-1 agreement of each ``<name>_int8`` with its float twin.

``--short-sides`` re-encodes every photo first (Lanczos to that short side, quality 90, 4:2:0: phone and
web sizes, thumbnails) and prints top-1 per model and size.

    .venv/bin/python bench/accuracy.py --data ../shared/data/imagewoof2-320/train
    .venv/bin/python bench/accuracy.py --limit 100 --short-sides 160 320 640 1280 3024
"""

import argparse
import asyncio
import io
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


def resized(data: bytes, short: int) -> bytes:
    """The photo re-encoded with its short side at ``short`` px (Lanczos, quality 90, 4:2:0)."""
    from PIL import Image

    im = Image.open(io.BytesIO(data)).convert("RGB")
    s = short / min(im.size)
    im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, subsampling=2)
    return buf.getvalue()


async def predictions(client: httpx.AsyncClient, model: str, photos: list[bytes], concurrency: int) -> list[str]:
    out: list[str] = [""] * len(photos)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            r = await client.post(
                f"/v1/models/{model}/classify",
                content=photos[i],
                headers={"content-type": "image/jpeg"},
                params={"top_k": 1},
            )
            r.raise_for_status()
            out[i] = r.json()["predictions"][0]["class_id"]

    await asyncio.gather(*(one(i) for i in range(len(photos))))
    return out


async def by_size(args: argparse.Namespace, url: str) -> dict:
    """Top-1 per model at each re-encoded short side (the first ``--limit`` validation photos)."""
    data = scan_folder(args.data)
    _, val_idx = stratified_split(data.targets, args.val_fraction, args.seed)
    val_idx = val_idx[:: max(1, len(val_idx) // args.limit)][: args.limit] if args.limit else val_idx
    originals = [data.files[i].read_bytes() for i in val_idx]
    truth = np.array([data.class_ids[data.targets[i]] for i in val_idx])
    report: dict = {"photos": len(val_idx), "short_sides": args.short_sides, "models": {}}
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        served = [m["name"] for m in (await client.get("/v1/models")).json()["models"]]
        models = [m for m in served if not args.models or m in args.models]
        for short in args.short_sides:
            photos = [resized(d, short) for d in originals]
            for m in models:
                right = np.array(await predictions(client, m, photos, args.concurrency)) == truth
                report["models"].setdefault(m, {})[str(short)] = float(right.mean())
    print(f"top-1 by short side: {len(val_idx)} validation photos, each re-encoded (Lanczos, q90, 4:2:0)")
    print(f"{'model':<26}" + "".join(f"{s:>9} px" for s in args.short_sides))
    for m, row in report["models"].items():
        print(f"{m:<26}" + "".join(f"{100 * row[str(s)]:>11.1f}%" for s in args.short_sides))
    return report


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
        photos = [f.read_bytes() for f in files]
        for m in models:
            preds[m] = np.array(await predictions(client, m, photos, args.concurrency))
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
    p.add_argument("--short-sides", type=int, nargs="*", help="re-encode at these short sides (px): top-1 by size")
    p.add_argument("--limit", type=int, default=0, help="with --short-sides: this many photos (spread over the split)")
    args = p.parse_args()
    with server_url(args) as url:
        report = asyncio.run(by_size(args, url) if args.short_sides else measure(args, url))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
