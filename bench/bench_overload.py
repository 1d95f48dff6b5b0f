"""Overload benchmark (not a test): does the server shed load early, and keep its goodput?

Starts ``python -m service`` (or uses --url), measures the model's peak throughput closed-loop at
--concurrency, then offers --factor times that rate open-loop (Poisson arrivals, latency charged from the
scheduled send time) and reports: how fast the 503s come back (median, p99), and goodput (200 answers per
second) as a fraction of the peak measured in the same run. Targets: 503 median <= 20 ms, goodput >= 90%.

    .venv/bin/python bench/bench_overload.py --model dct_learned48_wide --seconds 15
"""

import argparse
import asyncio
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_service import REPO, load_images, machine, server_url  # noqa: E402
from loadtest.rawhttp import RawPool, build_post, closed_loop, open_loop  # noqa: E402
from loadtest.runner import classify_path  # noqa: E402
from loadtest.schedule import arrival_offsets  # noqa: E402
from loadtest.stats import percentile  # noqa: E402


async def measure(args: argparse.Namespace, url: str) -> None:
    images = load_images(args.images, args.count, args.seed)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        models = (await client.get("/v1/models")).json()["models"]
    model = args.model or next(m["name"] for m in models if m["kind"] == "dct")
    host = httpx.URL(url).netloc.decode()
    requests = [build_post(host, f"{classify_path(model)}?top_k=1", data) for data in images]
    # The lean client (loadtest.rawhttp): httpx's CPU per request would cap the offered load near the peak.
    pool = RawPool(url, args.max_connections)
    print(f"machine: {machine()}")
    await closed_loop(pool, requests, args.concurrency, 2.0)  # warm-up
    samples, wall = await closed_loop(pool, requests, args.concurrency, args.seconds)
    peak = sum(s.status == 200 for s in samples) / wall
    print(f"{model}: peak {peak:.1f} img/s closed-loop at concurrency {args.concurrency} ({args.seconds:g} s)")
    rate = args.factor * peak
    offsets = arrival_offsets(rate, int(rate * args.seconds), args.seconds, "poisson", args.seed)
    samples, wall = await open_loop(pool, requests, offsets)
    await pool.close()
    ok = [s.latency_s for s in samples if s.status == 200]
    shed = [s.latency_s for s in samples if s.status == 503]
    other = len(samples) - len(ok) - len(shed)
    goodput = len(ok) / wall
    print(
        f"offered {rate:.1f} req/s ({args.factor:g}x peak, Poisson) for {args.seconds:g} s: "
        f"{len(samples)} requests, {len(ok)} answered 200, {len(shed)} answered 503, "
        f"{other} other (errors or transport); all answered after {wall:.1f} s"
    )
    if shed:
        print(
            f"503 latency: median {1e3 * percentile(shed, 50):.1f} ms, p99 {1e3 * percentile(shed, 99):.1f} ms"
            f" ({'meets' if percentile(shed, 50) <= 0.020 else 'misses'} the <= 20 ms median target)"
        )
    if ok:
        print(f"200 latency: median {1e3 * percentile(ok, 50):.0f} ms, p99 {1e3 * percentile(ok, 99):.0f} ms")
    print(
        f"goodput {goodput:.1f} img/s = {goodput / peak:.0%} of the peak"
        f" ({'meets' if goodput >= 0.9 * peak else 'misses'} the >= 90% target)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=REPO / "bundled")
    p.add_argument("--images", type=Path, default=REPO.parent / "shared" / "data" / "imagewoof2-320" / "train")
    p.add_argument("--count", type=int, default=256, help="distinct JPEGs loaded into memory")
    p.add_argument("--model", help="default: the first dct model")
    p.add_argument("--concurrency", type=int, default=16, help="closed-loop concurrency of the peak measurement")
    p.add_argument("--factor", type=float, default=3.0, help="offered load as a multiple of the peak")
    p.add_argument("--seconds", type=float, default=15.0, help="duration of each phase")
    p.add_argument("--max-connections", type=int, default=1000)
    p.add_argument("--url", help="a running server instead of starting one (loopback only)")
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra FREQSERVE_* settings")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with server_url(args) as url:
        asyncio.run(measure(args, url))


if __name__ == "__main__":
    main()
