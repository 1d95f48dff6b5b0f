"""Soak run (not a test): Poisson traffic at a fraction of the peak for minutes, counting transport errors
and the server's memory.

Starts ``python -m service``, measures each model's peak closed-loop, then offers --load (default 70%) of
it to every model at once for --minutes, open-loop. The load comes from the lean client
(``loadtest/rawhttp.py``: on 2 cores an httpx client would saturate a core itself and measure itself); beside
it, two keep-alive probes reuse one idle httpx connection the way real clients do: httpx's default pool
(idle connections expire after 5 s, the value that raced uvicorn's old 5 s keep-alive) after idle gaps of
4-6 s, and a load balancer's (60 s idle timeout) after gaps of 30-70 s. Reports requests, statuses,
transport errors and the server's RSS at the start and end of the soak (growth target < 5%).

    .venv/bin/python bench/soak.py --minutes 10
"""

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_service import REPO, load_images, machine, serving  # noqa: E402
from loadtest.rawhttp import RawPool, build_post, closed_loop, open_loop  # noqa: E402
from loadtest.runner import classify_path  # noqa: E402
from loadtest.schedule import arrival_offsets  # noqa: E402

# (name, the client's idle-connection expiry, range of idle gaps between its requests), seconds
PROBES = (("httpx default pool", 5.0, (4.0, 6.0)), ("load balancer", 60.0, (30.0, 70.0)))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def keepalive_probe(
    url: str, model: str, data: bytes, expiry_s: float, gaps_s: tuple[float, float], seconds: float, seed: int
) -> tuple[int, int, int]:
    """One pooled httpx connection, reused after idle gaps: (requests, answered 200, transport errors)."""
    rnd = random.Random(seed)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=expiry_s)
    n = ok = transport = 0
    end = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        while time.perf_counter() < end:
            n += 1
            try:
                r = await client.post(classify_path(model), content=data, headers={"content-type": "image/jpeg"})
                ok += r.status_code == 200
            except httpx.TransportError:
                transport += 1
            await asyncio.sleep(rnd.uniform(*gaps_s))
    return n, ok, transport


async def soak(args: argparse.Namespace, url: str, pid: int) -> None:
    images = load_images(args.images, args.count, args.seed)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        models = [m["name"] for m in (await client.get("/v1/models")).json()["models"]]
    models = [m for m in models if not args.models or m in args.models]
    host = httpx.URL(url).netloc.decode()
    requests = {m: [build_post(host, f"{classify_path(m)}?top_k=1", d) for d in images] for m in models}
    print(f"machine: {machine()}")
    pool = RawPool(url)
    # Each model's peak alone; the soak then offers every model its share at the same time.
    rates = {}
    for m in models:
        samples, wall = await closed_loop(pool, requests[m], 16, args.peak_seconds)
        rates[m] = args.load * sum(s.status == 200 for s in samples) / wall / len(models)
    print(f"offered {args.load:.0%} of the peak (req/s): " + ", ".join(f"{m} {r:.1f}" for m, r in rates.items()))
    seconds = 60 * args.minutes
    rss0 = rss_kib(pid)
    runs = [
        open_loop(pool, requests[m], arrival_offsets(r, int(r * seconds) + 1, seconds, "poisson", args.seed + i))
        for i, (m, r) in enumerate(rates.items())
    ]
    probes = [
        keepalive_probe(url, models[0], images[0], expiry, gaps, seconds, args.seed + i)
        for i, (_, expiry, gaps) in enumerate(PROBES)
    ]
    done = await asyncio.gather(*runs, *probes)
    results, probed = done[: len(runs)], done[len(runs) :]
    rss1 = rss_kib(pid)
    await pool.close()
    total = transport = 0
    for m, (samples, wall) in zip(rates, results, strict=True):
        total += len(samples)
        statuses: dict[int | str, int] = {}
        for s in samples:
            statuses[s.status] = statuses.get(s.status, 0) + 1
        transport += statuses.get("transport", 0)
        others = {k: v for k, v in statuses.items() if k != 200}
        print(
            f"{m}: {len(samples)} requests in {wall:.0f} s, {statuses.get(200, 0)} answered 200,"
            f" others: {others or 'none'}"
        )
    for (name, expiry, gaps), (n, ok, errors) in zip(PROBES, probed, strict=True):
        total += n
        transport += errors
        print(
            f"keep-alive probe ({name}: expiry {expiry:g} s, idle {gaps[0]:g}-{gaps[1]:g} s): {n} requests, "
            f"{ok} answered 200, {errors} transport errors"
        )
    print(f"{total} requests, {transport} transport errors (no HTTP answer at all: resets, timeouts)")
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
