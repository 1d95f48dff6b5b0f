"""Ray Serve throughput (not a test): 1 replica against 2 of the whole application, and 2 CPU replicas with
the graphs in a GraphServer actor, batched by our micro-batcher or by Ray's ``@serve.batch``; the same model,
the same client, one run.

Starts ``python -m service.ray_serve`` on a free loopback port for each layout, measures closed-loop img/s
and p50/p99 at --concurrency with the lean client (loadtest/rawhttp.py), stops it.

    .venv/bin/python bench/bench_ray.py --model dct_learned48_wide --seconds 15
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_service import REPO, free_port, load_images, machine  # noqa: E402
from loadtest.rawhttp import RawPool, build_post, closed_loop  # noqa: E402
from loadtest.runner import classify_path  # noqa: E402
from loadtest.stats import percentile  # noqa: E402

# name -> (replicas, extra arguments); a split layout's GraphServer takes one share of the CPUs too.
LAYOUTS = {
    "whole, 1 replica": (1, []),
    "whole, 2 replicas": (2, []),
    "split, 2 replicas, our batching": (2, ["--split", "--batching", "ours"]),
    "split, 2 replicas, Ray's batching": (2, ["--split", "--batching", "ray"]),
}


def start(replicas: int, extra: list[str], port: int, args: argparse.Namespace) -> subprocess.Popen:
    shares = replicas + (1 if "--split" in extra else 0)
    cmd = [sys.executable, "-m", "service.ray_serve", "--replicas", str(replicas), "--port", str(port)]
    cmd += ["--cpus-per-replica", str(args.cpus / shares), "--num-cpus", str(args.cpus), *extra]
    if "--split" in extra:
        cmd += ["--graph-cpus", str(args.cpus / shares)]
    env = os.environ | {"FREQSERVE_MODEL_DIR": str(args.model_dir), "FREQSERVE_DEVICE": "cpu"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).json()["models"]
            if {m["name"] for m in models} >= {args.model}:
                return proc
        except (httpx.TransportError, ValueError, KeyError):
            pass
        time.sleep(1)
    proc.kill()
    raise SystemExit(f"Ray Serve with {replicas} replicas did not come up")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
    subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], capture_output=True, timeout=60)


async def measure(url: str, args: argparse.Namespace) -> tuple[float, float, float]:
    host = httpx.URL(url).netloc.decode()
    requests = [build_post(host, f"{classify_path(args.model)}?top_k=1", d) for d in load_images(args.images, 128, 0)]
    pool = RawPool(url)
    await closed_loop(pool, requests, args.concurrency, 3.0)  # warm-up
    samples, wall = await closed_loop(pool, requests, args.concurrency, args.seconds)
    await pool.close()
    ok = [s.latency_s for s in samples if s.status == 200]
    return len(ok) / wall, 1e3 * percentile(ok, 50), 1e3 * percentile(ok, 99)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=REPO / "bundled")
    p.add_argument("--images", type=Path, default=REPO.parent / "shared" / "data" / "imagewoof2-320" / "train")
    p.add_argument("--model", default="dct_learned48_wide")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the local Ray cluster")
    args = p.parse_args()
    print(f"machine: {machine()}; Ray Serve, {args.model}, closed loop at concurrency {args.concurrency}")
    rates = {}
    for name, (replicas, extra) in LAYOUTS.items():
        port = free_port()
        proc = start(replicas, extra, port, args)
        try:
            rate, p50, p99 = asyncio.run(measure(f"http://127.0.0.1:{port}", args))
        finally:
            stop(proc)
        rates[name] = rate
        print(f"{name:36s} {rate:6.1f} img/s, p50 {p50:4.0f} ms, p99 {p99:4.0f} ms", flush=True)
    base = rates["whole, 1 replica"]
    print(
        f"each against the whole application on 1 replica ({args.cpus} CPUs): "
        + ", ".join(f"{name} {rate / base:.2f}x" for name, rate in rates.items())
    )


if __name__ == "__main__":
    main()
