"""Soak run (not a test): Poisson traffic at a fraction of the peak for minutes, counting transport errors
and the server's memory.

Starts ``python -m service``, measures each model's peak closed-loop, then offers --load (default 70%) of
it to every model at once for --minutes, open-loop, with an httpx pool whose idle connections expire after
5 s (httpx's default, the value that raced uvicorn's old 5 s keep-alive). Reports requests, statuses,
transport errors and the server's RSS at the start and end of the soak (growth target < 5%).

    .venv/bin/python bench/soak.py --minutes 10
"""

import argparse
import asyncio
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_service import REPO, load_images, machine, serving  # noqa: E402
from loadtest.runner import closed_loop, open_loop  # noqa: E402
from loadtest.schedule import arrival_offsets  # noqa: E402
from loadtest.stats import errors_by_status  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def soak(args: argparse.Namespace, url: str, pid: int) -> None:
    images = load_images(args.images, args.count, args.seed)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=5.0)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        models = [m["name"] for m in (await client.get("/v1/models")).json()["models"]]
        models = [m for m in models if not args.models or m in args.models]
        print(f"machine: {machine()}")
        # Each model's peak alone; the soak then offers every model its share at the same time.
        rates = {}
        for m in models:
            samples, wall = await closed_loop(client, m, images, 16, 10**9, args.peak_seconds)
            rates[m] = args.load * sum(s.status == 200 for s in samples) / wall / len(models)
        print("offered (req/s): " + ", ".join(f"{m} {r:.1f}" for m, r in rates.items()))
        seconds = 60 * args.minutes
        rss0 = rss_kib(pid)
        runs = [
            open_loop(client, m, images, arrival_offsets(r, int(r * seconds) + 1, seconds, "poisson", args.seed + i))
            for i, (m, r) in enumerate(rates.items())
        ]
        results = await asyncio.gather(*runs)
        rss1 = rss_kib(pid)
    total = 0
    for m, (samples, wall) in zip(rates, results, strict=True):
        total += len(samples)
        errs = errors_by_status(samples)
        ok = sum(s.status == 200 for s in samples)
        print(f"{m}: {len(samples)} requests in {wall:.0f} s, {ok} answered 200, others: {errs or 'none'}")
    transport = sum(
        1 for samples, _ in results for s in samples if isinstance(s.status, str)
    )  # timeouts, resets, protocol errors: no HTTP answer at all
    print(f"{total} requests, {transport} transport errors")
    print(f"server RSS: {rss0 / 1024:.1f} MiB at start, {rss1 / 1024:.1f} MiB at end ({(rss1 - rss0) / rss0:+.1%})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=REPO / "bundled")
    p.add_argument("--images", type=Path, default=REPO.parent / "shared" / "data" / "imagewoof2-320" / "train")
    p.add_argument("--count", type=int, default=256)
    p.add_argument("--models", nargs="*", help="only these models (default: every served one)")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--load", type=float, default=0.7, help="fraction of the peak offered in all")
    p.add_argument("--peak-seconds", type=float, default=8.0)
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra FREQSERVE_* settings")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with serving(args.model_dir, args.env) as (url, pid):
        asyncio.run(soak(args, url, pid))


if __name__ == "__main__":
    main()
