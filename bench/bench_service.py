"""Serving benchmark (not a test): images/s and p50/p99 latency per model at a few client concurrencies.

Starts ``python -m service`` on a free loopback port (or uses --url), sends real JPEGs from disk with an
async HTTP client, and prints one table with every model measured in the same run, so the DCT model is
compared with the RGB baseline on the same machine at the same moment. All traffic stays on 127.0.0.1.

    make bench    # or: .venv/bin/python bench/bench_service.py --images ../shared/data/imagewoof2-320/train
"""

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    model: str
    kind: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    server_read_ms: list[float] = field(default_factory=list)
    server_infer_ms: list[float] = field(default_factory=list)
    mean_batch: float = float("nan")
    repeat_rates: list[float] = field(default_factory=list)  # one per repeat when merged (``merge``)

    @property
    def rate(self) -> float:
        if self.repeat_rates:
            return float(np.median(self.repeat_rates))
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    @property
    def spread(self) -> float:
        """(max - min) / median of the repeats' rates: how much this VM moved during the cell."""
        r = self.repeat_rates
        return (max(r) - min(r)) / float(np.median(r)) if len(r) > 1 and np.median(r) else 0.0

    def pct(self, q: float) -> float:
        return float(np.percentile(self.latencies, q) * 1e3) if self.latencies else float("nan")


def merge(runs: list[Result]) -> Result:
    """Repeats of one (model, concurrency) cell as one: the median rate, every latency and timing pooled."""
    first = runs[0]
    out = Result(first.model, first.kind, first.concurrency, repeat_rates=[r.rate for r in runs])
    for r in runs:
        out.latencies += r.latencies
        out.server_read_ms += r.server_read_ms
        out.server_infer_ms += r.server_infer_ms
        out.elapsed += r.elapsed
        for code, n in r.errors.items():
            out.errors[code] = out.errors.get(code, 0) + n
    out.mean_batch = float(np.nanmean([r.mean_batch for r in runs]))
    return out


def load_images(root: Path, count: int, seed: int) -> list[bytes]:
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    if not paths:
        raise SystemExit(f"no JPEGs under {root}")
    random.Random(seed).shuffle(paths)
    return [p.read_bytes() for p in paths[:count]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_dir: Path, extra_env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = (
        os.environ
        | {
            "FREQSERVE_HOST": "127.0.0.1",
            "FREQSERVE_PORT": str(port),
            "FREQSERVE_MODEL_DIR": str(model_dir),
            "FREQSERVE_LOG_LEVEL": "WARNING",
        }
        | extra_env
    )
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=REPO, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            r = httpx.get(f"{url}/readyz", timeout=2)
            if r.status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"server not ready after 180 s:\n{log_path.read_text()[-4000:]}")


@contextmanager
def serving(model_dir: Path, env: list[str]) -> Iterator[tuple[str, int]]:
    """A ``python -m service`` on a free loopback port for the block: yields (url, pid); SIGTERM after.

    ``env``: ``KEY=VALUE`` strings (the scripts' ``--env``), extra FREQSERVE_* settings."""
    extra = dict(kv.split("=", 1) for kv in env)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(model_dir, extra, Path(tmp) / "server.log")
        try:
            if extra:
                print(f"server settings: {json.dumps(extra)}")
            yield url, proc.pid
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def server_url(args: argparse.Namespace) -> Iterator[str]:
    """``--url`` (a running server, loopback only: no traffic leaves the machine), else a fresh one."""
    if args.url:
        if httpx.URL(args.url).host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("--url must point at a loopback address")
        yield args.url
        return
    with serving(args.model_dir, args.env) as (url, _):
        yield url


def batch_means(metrics_text: str) -> dict[str, tuple[float, float]]:
    """model -> (batches, samples) summed over the model's graphs."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, list[float]] = {}
    for fam in text_string_to_metric_families(metrics_text):
        if fam.name == "freqserve_batch_size":
            for s in fam.samples:
                acc = out.setdefault(s.labels["model"], [0.0, 0.0])
                if s.name.endswith("_count"):
                    acc[0] += s.value
                elif s.name.endswith("_sum"):
                    acc[1] += s.value
    return {m: (v[0], v[1]) for m, v in out.items()}


async def run_one(
    client: httpx.AsyncClient, model: dict, images: list[bytes], concurrency: int, duration: float, max_requests: int
) -> Result:
    res = Result(model["name"], model["kind"], concurrency)
    url = f"/v1/models/{model['name']}/classify"
    headers = {"content-type": "image/jpeg"}
    for data in images[: 2 * concurrency]:  # warm the connections and the server's caches
        await client.post(url, content=data, headers=headers, params={"top_k": 1})
    before = batch_means((await client.get("/metrics")).text).get(model["name"], (0.0, 0.0))
    sent = 0
    stop_at = time.perf_counter() + duration

    async def worker(w: int) -> None:
        nonlocal sent
        i = w
        while time.perf_counter() < stop_at and sent < max_requests:
            sent += 1
            data = images[i % len(images)]
            i += concurrency
            t0 = time.perf_counter()
            r = await client.post(url, content=data, headers=headers, params={"top_k": 1})
            dt = time.perf_counter() - t0
            if r.status_code == 200:
                res.latencies.append(dt)
                t = r.json()["timings_ms"]
                res.server_read_ms.append(t["read"])
                res.server_infer_ms.append(t["infer"])
            else:
                res.errors[r.status_code] = res.errors.get(r.status_code, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    res.elapsed = time.perf_counter() - start
    after = batch_means((await client.get("/metrics")).text).get(model["name"], (0.0, 0.0))
    if after[0] > before[0]:
        res.mean_batch = (after[1] - before[1]) / (after[0] - before[0])
    return res


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        import onnxruntime

        ort = f"onnxruntime {onnxruntime.__version__}"
    except ImportError:
        ort = "onnxruntime ?"
    return f"{cpu}; {cores} usable cores; Python {platform.python_version()}; {ort}; load average at start {load}"


def pick(models: list[dict], kind: str, preset: str | None, name: str | None) -> dict | None:
    if name:
        return next((m for m in models if m["name"] == name), None)
    for m in models:
        if m["kind"] == kind and (preset is None or m["contract"].get("preset") == preset):
            return m
    return None


async def bench(args: argparse.Namespace, url: str) -> None:
    images = load_images(args.images, args.count, args.seed)
    limits = httpx.Limits(
        max_connections=max(args.concurrency) + 4, max_keepalive_connections=max(args.concurrency) + 4
    )
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        models = (await client.get("/v1/models")).json()["models"]
        if args.models:
            models = [m for m in models if m["name"] in args.models]
        dct = pick(models, "dct", None, args.dct_model)
        rgb = pick(models, "rgb", None, args.rgb_model)
        order = [m for m in (dct, rgb) if m] + [m for m in models if m not in (dct, rgb)]
        sizes = [len(b) for b in images]
        print(f"machine: {machine()}")
        print(
            f"server: {url}; models: "
            + ", ".join(f"{m['name']} ({m['kind']}, {m['provider']})" for m in order)
            + f"; images: {len(images)} JPEGs from {args.images} (median {int(np.median(sizes))} bytes)"
        )
        print(f"per cell: up to {args.duration:g} s or {args.requests} requests; client and server share this machine")
        if args.repeats > 1:
            print(f"each cell {args.repeats} times, models interleaved; img/s is the median, spread (max-min)/median")
        header = (
            f"{'model':<22} {'kind':<6} {'conc':>4} {'n':>6} {'err':>4} {'img/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
            f" {'read ms':>8} {'infer ms':>9} {'batch':>6} {'spread':>6}"
        )
        print(header)
        print("-" * len(header))
        results: list[Result] = []
        for c in args.concurrency:
            runs: dict[str, list[Result]] = {m["name"]: [] for m in order}
            for _ in range(args.repeats):  # round robin: a slow minute on this machine hits every model alike
                for m in order:
                    runs[m["name"]].append(await run_one(client, m, images, c, args.duration, args.requests))
            for m in order:
                r = merge(runs[m["name"]])
                results.append(r)
                err = sum(r.errors.values())
                print(
                    f"{r.model:<22} {r.kind:<6} {c:>4} {len(r.latencies):>6} {err:>4} {r.rate:>8.1f} {r.pct(50):>8.2f}"
                    f" {r.pct(99):>8.2f} {np.median(r.server_read_ms or [np.nan]):>8.2f}"
                    f" {np.median(r.server_infer_ms or [np.nan]):>9.2f} {r.mean_batch:>6.2f} {r.spread:>6.0%}",
                    flush=True,
                )
        if dct and rgb:
            print()
            best = {}
            for name in (dct["name"], rgb["name"]):
                best[name] = max(r.rate for r in results if r.model == name)
            for c in args.concurrency:
                d = next(r.rate for r in results if r.model == dct["name"] and r.concurrency == c)
                g = next(r.rate for r in results if r.model == rgb["name"] and r.concurrency == c)
                print(f"throughput {dct['name']} / {rgb['name']} at concurrency {c}: {d / g:.2f}x")
            d, g = best[dct["name"]], best[rgb["name"]]
            verdict = "meets" if d / g >= 1.3 else "misses"
            print(
                f"best throughput: {dct['name']} {d:.1f} img/s, {rgb['name']} {g:.1f} img/s"
                f" -> {d / g:.2f}x ({verdict} the 1.3x target)"
            )
        if args.json:
            rows = [
                {
                    "model": r.model,
                    "kind": r.kind,
                    "concurrency": r.concurrency,
                    "requests": len(r.latencies),
                    "errors": sum(r.errors.values()),
                    "img_per_s": r.rate,
                    "repeat_img_per_s": r.repeat_rates,
                    "p50_ms": r.pct(50),
                    "p99_ms": r.pct(99),
                }
                for r in results
            ]
            args.json.write_text(json.dumps({"machine": machine(), "results": rows}, indent=2))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=REPO / "bundled")
    p.add_argument("--images", type=Path, default=REPO.parent / "shared" / "data" / "imagewoof2-320" / "train")
    p.add_argument("--count", type=int, default=256, help="distinct JPEGs loaded into memory")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per (model, concurrency)")
    p.add_argument("--requests", type=int, default=2000, help="at most this many requests per cell")
    p.add_argument("--repeats", type=int, default=1, help="run every cell this many times, interleaved (median)")
    p.add_argument("--models", nargs="*", help="only these model names")
    p.add_argument("--dct-model", help="the DCT model to compare (default: the first dct model)")
    p.add_argument("--rgb-model", help="the RGB baseline (default: the first rgb model)")
    p.add_argument("--url", help="benchmark a running server instead of starting one (must be on loopback)")
    p.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra FREQSERVE_* settings")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write every cell's figures here (MODEL_CARD's table reads it)")
    args = p.parse_args()
    with server_url(args) as url:
        asyncio.run(bench(args, url))


if __name__ == "__main__":
    main()
