"""Sending requests: one POST, a closed loop at a fixed concurrency, an open loop on a fixed timeline."""

import asyncio
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from loadtest.stats import Sample

Tick = Callable[[], None]


def classify_path(model: str) -> str:
    return f"/v1/models/{quote(model, safe='')}/classify"


@dataclass(frozen=True)
class Answer:
    """What a 200 answer says about the work done; every field is None when absent or malformed."""

    input_bytes: int | None = None
    timings_ms: dict[str, float] | None = None
    resolution: int | None = None
    gflops: float | None = None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_answer(status: int, body: bytes) -> Answer:
    """The figures of a 200 answer (``input_bytes``, ``timings_ms``, DRNet's ``resolution`` and ``gflops``)."""
    if status != 200:
        return Answer()
    try:
        doc = json.loads(body)
    except ValueError:
        return Answer()
    if not isinstance(doc, dict):
        return Answer()
    timings = doc.get("timings_ms")
    gflops = doc.get("gflops")
    return Answer(
        input_bytes=_int(doc.get("input_bytes")),
        timings_ms={k: float(v) for k, v in timings.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        if isinstance(timings, dict)
        else None,
        resolution=_int(doc.get("resolution")),
        gflops=float(gflops) if isinstance(gflops, int | float) and not isinstance(gflops, bool) else None,
    )


def failure_tag(exc: httpx.HTTPError) -> str:
    """A short, stable name for a request that got no HTTP answer (used as its 'status')."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "protocol"
    return "transport"


async def send(client: httpx.AsyncClient, model: str, body: bytes, start: float, top_k: int = 1) -> Sample:
    """POST one JPEG; latency runs from ``start`` (perf_counter seconds) to the end of the answer's body."""
    lag = max(0.0, time.perf_counter() - start)
    try:
        resp = await client.post(
            classify_path(model), content=body, headers={"Content-Type": "image/jpeg"}, params={"top_k": top_k}
        )
    except httpx.HTTPError as exc:
        return Sample(failure_tag(exc), time.perf_counter() - start, len(body), lag_s=lag)
    latency = time.perf_counter() - start
    a = parse_answer(resp.status_code, resp.content)
    return Sample(resp.status_code, latency, len(body), a.input_bytes, a.timings_ms, a.resolution, a.gflops, lag)


async def closed_loop(
    client: httpx.AsyncClient,
    model: str,
    payloads: Sequence[bytes],
    concurrency: int,
    requests: int,
    duration_s: float | None,
    tick: Tick = lambda: None,
    top_k: int = 1,
) -> tuple[list[Sample], float]:
    """``concurrency`` workers, each sending its next request as soon as its previous answer is in.

    Stops after ``requests`` requests or once ``duration_s`` has passed (no new request starts after it).
    Returns the samples and the step's wall time.
    """
    samples: list[Sample] = []
    issued = 0
    begin = time.perf_counter()
    deadline = begin + duration_s if duration_s is not None else math.inf

    async def worker() -> None:
        nonlocal issued
        while issued < requests and time.perf_counter() < deadline:
            body = payloads[issued % len(payloads)]
            issued += 1  # single-threaded event loop: no other worker runs between the check and this
            samples.append(await send(client, model, body, time.perf_counter(), top_k))
            tick()

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, requests)))))
    return samples, time.perf_counter() - begin


async def open_loop(
    client: httpx.AsyncClient,
    model: str,
    payloads: Sequence[bytes],
    offsets: Sequence[float],
    tick: Tick = lambda: None,
    top_k: int = 1,
) -> tuple[list[Sample], float]:
    """Send request i at ``begin + offsets[i]`` whether or not earlier answers are in.

    Latency is measured from the scheduled time, so a request delayed by a saturated client or a full
    connection pool is charged the delay (no coordinated omission); ``lag_s`` records how late it left.
    """
    lead = 0.01  # time to create the first tasks before the first one is due
    begin = time.perf_counter() + lead

    async def one(i: int, due: float) -> Sample:
        sample = await send(client, model, payloads[i % len(payloads)], due, top_k)
        tick()
        return sample

    tasks: list[asyncio.Task[Sample]] = []
    for i, offset in enumerate(offsets):
        due = begin + offset
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    samples = list(await asyncio.gather(*tasks))
    return samples, time.perf_counter() - begin


def _model_items(doc: object) -> list[object]:
    items = doc
    if isinstance(doc, dict):
        items = doc.get("models", doc.get("data", []))
        if isinstance(items, dict):  # {"models": {"name": {...}}}
            items = [{"name": k, **v} if isinstance(v, dict) else k for k, v in items.items()]
    return items if isinstance(items, list) else []


def model_summary(doc: object) -> list[dict[str, object]]:
    """Name, kind and execution provider of each served model (what a report needs, not the label lists)."""
    out: list[dict[str, object]] = []
    for item in _model_items(doc):
        if isinstance(item, str):
            out.append({"name": item})
        elif isinstance(item, dict) and isinstance(item.get("name", item.get("id")), str):
            out.append(
                {"name": item.get("name", item.get("id"))} | {k: item[k] for k in ("kind", "provider") if k in item}
            )
    return out


def model_names(doc: object) -> list[str]:
    """Served model names from a ``GET /v1/models`` answer, whichever of the usual shapes it has.

    Accepts a list, or an object with a ``models`` / ``data`` list, whose items are names or objects
    with a ``name`` (or ``id``).
    """
    return [str(m["name"]) for m in model_summary(doc)]
