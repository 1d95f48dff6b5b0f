"""``python -m loadtest``: drive a running freqserve with real JPEGs and report latency and throughput.

Closed loop (``--concurrency 1,4,16``): N clients, each sending as soon as its previous answer is in.
Open loop (``--rate 50``): requests due on a fixed timeline, latency measured from when each was due.
Only the server named by ``--url`` is ever contacted (no proxies from the environment, no redirects).
"""

import argparse
import asyncio
import datetime as dt
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from loadtest.images import load_payloads
from loadtest.progress import Progress
from loadtest.report import (
    format_ratios,
    format_resolutions,
    format_table,
    level_label,
    throughput_ratios,
    write_csv,
    write_json,
)
from loadtest.runner import closed_loop, model_names, model_summary, open_loop
from loadtest.schedule import Arrival, arrival_offsets, parse_levels
from loadtest.stats import summarize
from loadtest.thresholds import METRICS, Threshold, check, parse_threshold

EXIT_OK = 0
EXIT_RUN_FAILED = 1  # server unreachable, unknown model, ...
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_THRESHOLD = 99  # a --fail-if threshold was crossed (k6 uses 99 too)

# Warm-up before an open-loop step runs closed-loop at this concurrency: enough to let a batching server
# see a few batch sizes, without making warm-up a load test of its own.
OPEN_LOOP_WARMUP_CONCURRENCY = 4


class RunError(RuntimeError):
    """The run cannot go on (server unreachable, bad answer, unknown model); message says why."""


@dataclass(frozen=True)
class Config:
    url: str
    images: Path
    models: tuple[str, ...] = ()
    concurrency: tuple[int, ...] = ()
    rates: tuple[float, ...] = ()
    arrival: Arrival = "constant"
    seed: int = 0
    requests: int = 200
    duration_s: float = 30.0
    warmup: int = 10
    timeout_s: float = 30.0
    max_connections: int = 256
    max_images: int = 1000
    top_k: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    thresholds: tuple[Threshold, ...] = ()


def check_url(url: str) -> str:
    """The base URL, with its scheme and host checked; only this host will be contacted."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"--url {url!r} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"--url {url!r}: expected http(s)://host[:port], e.g. http://127.0.0.1:8000")
    if parsed.query or parsed.fragment:
        raise ValueError(f"--url {url!r}: a base URL takes no query or fragment")
    return url.rstrip("/")


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"--header {text!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loadtest",
        description="Drive a running freqserve with real JPEGs and report latency and throughput per model.",
        epilog=(
            "Thresholds (--fail-if) name a failing condition on a step's figures, optionally for one model: "
            f"'[model:]metric<op>value' with op one of > >= < <= == != and metric one of: {', '.join(METRICS)}. "
            "Latency percentiles are over successful (200) requests; failures count in error_rate. "
            f"Exit codes: {EXIT_OK} ok, {EXIT_RUN_FAILED} run failed, {EXIT_USAGE} bad arguments, "
            f"{EXIT_THRESHOLD} threshold crossed."
        ),
    )
    p.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL (default: %(default)s)")
    p.add_argument("--images", type=Path, required=True, help="folder searched recursively for *.jpg / *.jpeg")
    p.add_argument("--models", default="", help="comma-separated model names (default: all from GET /v1/models)")
    p.add_argument("--concurrency", default=None, help="closed-loop sweep, e.g. 1,4,16 (default 1,4,16 if no --rate)")
    p.add_argument("--rate", default=None, help="open-loop arrival rates in requests/s, e.g. 50 or 25,50,100")
    p.add_argument("--arrival", choices=("constant", "poisson"), default="constant", help="open-loop gaps")
    p.add_argument("--seed", type=int, default=0, help="seed of the poisson schedule")
    p.add_argument("--requests", type=int, default=200, help="measured requests per step (default: %(default)s)")
    p.add_argument("--duration", type=float, default=30.0, help="cap in seconds per step (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=10, help="unmeasured requests before each step (default: 10)")
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    p.add_argument("--max-connections", type=int, default=256, help="HTTP connection pool size")
    p.add_argument("--max-images", type=int, default=1000, help="JPEGs read from --images, at most")
    p.add_argument("--top-k", type=int, default=1, help="top_k query parameter sent with each request")
    p.add_argument(
        "--api-key",
        default=os.environ.get("FREQSERVE_API_KEY"),
        help="sent as a bearer token (default: $FREQSERVE_API_KEY)",
    )
    p.add_argument("--header", action="append", default=[], help="extra request header 'Name: value' (repeatable)")
    p.add_argument("--csv", type=Path, help="write one row per model and step to this CSV file")
    p.add_argument("--json", type=Path, help="write the full report to this JSON file")
    p.add_argument("--fail-if", action="append", default=[], metavar="EXPR", help="e.g. 'p99_ms>500' (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    """Validated settings; raises ValueError naming the offending option."""
    for name in ("requests", "max_connections", "max_images", "top_k"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0:
        raise ValueError(f"--warmup must be >= 0, got {args.warmup}")
    for name in ("duration", "timeout"):
        if getattr(args, name) <= 0:
            raise ValueError(f"--{name} must be > 0 s, got {getattr(args, name)}")
    rates = tuple(parse_levels(args.rate, float, "--rate")) if args.rate else ()
    conc_text = args.concurrency if args.concurrency is not None else ("" if rates else "1,4,16")
    concurrency = tuple(int(c) for c in parse_levels(conc_text, int, "--concurrency")) if conc_text else ()
    headers = dict(parse_header(h) for h in args.header)
    if args.api_key:
        headers.setdefault("Authorization", f"Bearer {args.api_key}")
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    if len(set(models)) != len(models):
        raise ValueError(f"--models lists a model twice: {args.models!r}")
    return Config(
        url=check_url(args.url),
        images=args.images,
        models=models,
        concurrency=concurrency,
        rates=rates,
        arrival=args.arrival,
        seed=args.seed,
        requests=args.requests,
        duration_s=args.duration,
        warmup=args.warmup,
        timeout_s=args.timeout,
        max_connections=args.max_connections,
        max_images=args.max_images,
        top_k=args.top_k,
        headers=headers,
        thresholds=tuple(parse_threshold(t) for t in args.fail_if),
    )


async def discover(client: httpx.AsyncClient) -> object:
    """``GET /v1/models``; a server that cannot answer it is not worth loading."""
    try:
        resp = await client.get("/v1/models")
    except httpx.HTTPError as exc:
        raise RunError(f"cannot reach {client.base_url}: {type(exc).__name__}: {exc}") from None
    if resp.status_code != 200:
        raise RunError(f"GET {client.base_url}v1/models answered {resp.status_code}: {resp.text[:200]}")
    try:
        return resp.json()
    except ValueError:
        raise RunError(f"GET {client.base_url}v1/models did not answer JSON") from None


def choose_models(requested: Sequence[str], served: Sequence[str]) -> list[str]:
    if not requested:
        if not served:
            raise RunError("the server lists no models; pass --models")
        return list(served)
    unknown = [m for m in requested if m not in served]
    if served and unknown:
        raise RunError(f"unknown model(s) {', '.join(unknown)}; the server serves: {', '.join(served)}")
    return list(requested)


@dataclass(frozen=True)
class RunResult:
    models: list[str]  # in the order they ran
    server_models: list[dict[str, object]]  # name, kind, provider as GET /v1/models reported them
    steps: list[dict[str, object]]  # one row per (step, model): see stats.summarize


def make_client(cfg: Config) -> httpx.AsyncClient:
    """The one HTTP client of a run: it talks to ``cfg.url`` and to nothing else."""
    return httpx.AsyncClient(
        base_url=cfg.url,
        headers=cfg.headers,
        timeout=cfg.timeout_s,
        limits=httpx.Limits(max_connections=cfg.max_connections, max_keepalive_connections=cfg.max_connections),
        trust_env=False,  # never route through a proxy named in the environment
        follow_redirects=False,  # never follow the server to another address
    )


async def run(cfg: Config, payloads: Sequence[bytes], progress: Progress) -> RunResult:
    async with make_client(cfg) as client:
        served = await discover(client)
        models = choose_models(cfg.models, model_names(served))
        steps: list[tuple[str, int | float]] = [("closed", c) for c in cfg.concurrency]
        steps += [("open", r) for r in cfg.rates]
        rows: list[dict[str, object]] = []
        # Models take turns at each step, so a drift in the machine's load affects them alike.
        for mode, level in steps:
            for model in models:
                if cfg.warmup:
                    warm_c = int(level) if mode == "closed" else OPEN_LOOP_WARMUP_CONCURRENCY
                    await closed_loop(client, model, payloads, warm_c, cfg.warmup, cfg.duration_s, top_k=cfg.top_k)
                label = f"{model} {level_label(mode, level)}"
                if mode == "closed":
                    progress.start(label, cfg.requests)
                    samples, wall = await closed_loop(
                        client, model, payloads, int(level), cfg.requests, cfg.duration_s, progress.tick, cfg.top_k
                    )
                else:
                    offsets = arrival_offsets(float(level), cfg.requests, cfg.duration_s, cfg.arrival, cfg.seed)
                    progress.start(label, len(offsets))
                    samples, wall = await open_loop(client, model, payloads, offsets, progress.tick, cfg.top_k)
                progress.close()
                rows.append({"model": model, "mode": mode, "level": level, **summarize(samples, wall)})
    return RunResult(models, model_summary(served), rows)


def client_machine() -> dict[str, object]:
    """Where the client ran: load figures mean little without it (the server's side is in /v1/models)."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def report_doc(
    cfg: Config,
    result: RunResult,
    started: dt.datetime,
    n_images: int,
    ratios: list[dict[str, object]],
    verdicts: list[dict[str, object]],
) -> dict[str, object]:
    config = asdict(cfg)
    config["images"] = str(cfg.images)
    config["thresholds"] = [t.expr for t in cfg.thresholds]
    config["headers"] = sorted(cfg.headers)  # names only: a key must not end up in a report file
    return {
        "tool": "freqserve loadtest",
        "started_at": started.isoformat(timespec="seconds"),
        "client": client_machine(),
        "config": config,
        "images_loaded": n_images,
        "server_models": result.server_models,
        "steps": result.steps,
        "ratios": ratios,
        "thresholds": verdicts,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(args)
        payloads = load_payloads(cfg.images, cfg.max_images)
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))  # exits with EXIT_USAGE
    started = dt.datetime.now(dt.timezone.utc)
    try:
        result = asyncio.run(run(cfg, payloads, Progress(enabled=not args.quiet)))
    except RunError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    ratios = throughput_ratios(result.steps, result.models)
    verdicts = check(cfg.thresholds, result.steps)

    client = client_machine()
    providers = {str(m["name"]): m.get("provider", "?") for m in result.server_models}
    print(f"freqserve loadtest  {cfg.url}  started {started.isoformat(timespec='seconds')}  {len(payloads)} images")
    print(f"client: {client['platform']}, {client['cpus']} CPUs")
    print("models: " + ", ".join(f"{m} ({providers.get(m, '?')})" for m in result.models))
    print(format_table(result.steps))
    if drnet := format_resolutions(result.steps):
        print(drnet)
    if ratios:
        print(format_ratios(ratios))
    for v in verdicts:
        print(f"threshold {v['threshold']}: {'ok' if v['passed'] else 'FAILED'}")
    if args.csv:
        write_csv(result.steps, args.csv)
    if args.json:
        write_json(report_doc(cfg, result, started, len(payloads), ratios, verdicts), args.json)
    return EXIT_THRESHOLD if any(not v["passed"] for v in verdicts) else EXIT_OK
