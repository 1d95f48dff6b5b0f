"""Micro-batching: batches form under concurrency, a lone request does not wait, a full queue says 503."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from inputs.graphs import CLASSIFIER
from service.batching import DeadlineExceeded, Feeds, MicroBatcher, QueueFull
from tests.support.app import make_settings, serve
from tests.support.jpegs import jpeg

pytestmark = pytest.mark.anyio


def doubling(sizes: list[int]) -> Callable[[Feeds], Feeds]:
    def run(feeds: Feeds) -> Feeds:
        sizes.append(len(feeds["x"]))
        return {"y": feeds["x"] * 2}

    return run


async def test_concurrent_submits_share_batches_and_get_their_own_rows() -> None:
    sizes: list[int] = []
    b = MicroBatcher("t", doubling(sizes), max_batch=4, max_delay_s=0.05, queue_size=100)
    b.start()
    outs = await asyncio.gather(*(b.submit({"x": np.full(3, i, dtype=np.float32)}) for i in range(10)))
    await b.stop()
    assert [int(out["y"][0]) for out, _ in outs] == [2 * i for i in range(10)]
    assert sizes == [4, 4, 2]
    assert all(t.batch_size in (4, 2) and t.queue_s >= 0 and t.infer_s >= 0 for _, t in outs)


async def test_lone_request_does_not_wait_for_max_delay() -> None:
    b = MicroBatcher("t", doubling([]), max_batch=8, max_delay_s=2.0, queue_size=4)
    b.start()
    start = time.perf_counter()
    await b.submit({"x": np.zeros(1)})
    assert time.perf_counter() - start < 1.0
    await b.stop()


async def test_waits_for_arriving_requests_up_to_max_delay() -> None:
    sizes: list[int] = []
    b = MicroBatcher("t", doubling(sizes), max_batch=8, max_delay_s=1.0, queue_size=4)
    b.start()

    async def late() -> None:
        with b.arriving():
            await asyncio.sleep(0.05)  # e.g. still being read in the reader pool
        await b.submit({"x": np.zeros(1)})

    await asyncio.gather(b.submit({"x": np.zeros(1)}), late())
    assert sizes == [2]
    await b.stop()


async def test_full_queue_raises_and_stop_drains() -> None:
    gate = threading.Event()
    sizes: list[int] = []

    def blocked(feeds: Feeds) -> Feeds:
        gate.wait(5)
        return doubling(sizes)(feeds)

    b = MicroBatcher("t", blocked, max_batch=1, max_delay_s=0, queue_size=2)
    b.start()
    running = asyncio.ensure_future(b.submit({"x": np.zeros(1)}))
    await asyncio.sleep(0.05)  # the first request is in the runtime, the queue is empty
    queued = [asyncio.ensure_future(b.submit({"x": np.ones(1)})) for _ in range(2)]
    await asyncio.sleep(0)
    assert b.depth == 2
    with pytest.raises(QueueFull):
        await b.submit({"x": np.ones(1)})
    gate.set()
    await b.stop()  # drains what was queued
    assert all(f.done() and not f.exception() for f in [running, *queued])
    assert sizes == [1, 1, 1]


async def test_a_sample_past_its_deadline_is_dropped_not_computed() -> None:
    gate = threading.Event()
    seen: list[list[float]] = []

    def blocked(feeds: Feeds) -> Feeds:
        seen.append([float(v) for v in feeds["x"][:, 0]])
        gate.wait(5)
        return {"y": feeds["x"] * 2}

    b = MicroBatcher("t", blocked, max_batch=4, max_delay_s=0, queue_size=8)
    b.start()
    running = asyncio.ensure_future(b.submit({"x": np.zeros(1)}))
    await asyncio.sleep(0.05)  # in the runtime
    late = asyncio.ensure_future(b.submit({"x": np.ones(1)}, deadline=time.perf_counter() + 0.05))
    patient = asyncio.ensure_future(b.submit({"x": np.full(1, 2.0)}, deadline=time.perf_counter() + 60))
    await asyncio.sleep(0.15)  # the first deadline passes while both wait behind the running batch
    gate.set()
    with pytest.raises(DeadlineExceeded):
        await late
    assert (await patient)[0]["y"][0] == 4 and (await running)[0]["y"][0] == 0
    assert seen == [[0.0], [2.0]]  # the late sample never reached the runtime
    with pytest.raises(DeadlineExceeded):  # already past: refused before it is queued
        await b.submit({"x": np.ones(1)}, deadline=time.perf_counter() - 1)
    await b.stop()


async def test_runtime_error_reaches_every_caller_of_the_batch() -> None:
    def broken(feeds: Feeds) -> Feeds:
        raise RuntimeError("boom")

    b = MicroBatcher("t", broken, max_batch=4, max_delay_s=0.01, queue_size=8)
    b.start()
    results = await asyncio.gather(*(b.submit({"x": np.zeros(1)}) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    await b.stop()


async def test_http_503_with_retry_after_before_the_body_is_read(model_dir: Path) -> None:
    # Two images may be in flight: one in the runtime (held there), one queued; the third is refused.
    settings = make_settings(model_dir, MAX_BATCH=1, QUEUE_SIZE=2, RETRY_AFTER_S=3)
    async with serve(settings) as (app, client):
        batcher = app.state.service.models["tiny-rgb"].batchers[CLASSIFIER]
        entered, gate = threading.Event(), threading.Event()
        run = batcher._run_batch

        def slow(feeds: Feeds) -> Feeds:
            entered.set()
            gate.wait(5)
            return run(feeds)

        batcher._run_batch = slow

        async def post() -> httpx.Response:
            return await client.post(
                "/v1/models/tiny-rgb/classify", content=jpeg(), headers={"content-type": "image/jpeg"}
            )

        first = asyncio.ensure_future(post())
        while not entered.is_set():  # the first request is in the runtime
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(post())
        while batcher.depth < 1:  # the second one waits in the queue
            await asyncio.sleep(0.01)

        async def never_ending_body() -> AsyncIterator[bytes]:
            yield jpeg()[:100]
            await asyncio.sleep(3600)  # a body that would take forever: the answer must not wait for it
            yield b""

        third = await asyncio.wait_for(
            client.post(
                "/v1/models/tiny-rgb/classify", content=never_ending_body(), headers={"content-type": "image/jpeg"}
            ),
            timeout=5,
        )
        assert third.status_code == 503
        assert third.json() == {"detail": "model 'tiny-rgb' is overloaded: 2 images are already in flight; retry later"}
        assert third.headers["retry-after"] == "3"
        gate.set()
        assert (await first).status_code == 200 and (await second).status_code == 200
        metrics = (await client.get("/metrics")).text
        assert 'freqserve_rejected_images_total{model="tiny-rgb"} 1.0' in metrics
        assert 'freqserve_in_flight_images{model="tiny-rgb"} 0.0' in metrics
        assert 'freqserve_requests_total{model="tiny-rgb",status="503"} 1.0' in metrics


async def test_http_504_when_the_deadline_passes_in_the_queue(model_dir: Path) -> None:
    async with serve(make_settings(model_dir, MAX_BATCH=1)) as (app, client):
        batcher = app.state.service.models["tiny-rgb"].batchers[CLASSIFIER]
        entered, gate = threading.Event(), threading.Event()
        run, calls = batcher._run_batch, []

        def slow(feeds: Feeds) -> Feeds:
            calls.append(len(feeds["image"]))
            entered.set()
            gate.wait(5)
            return run(feeds)

        batcher._run_batch = slow

        async def post(**headers: str) -> httpx.Response:
            return await client.post(
                "/v1/models/tiny-rgb/classify", content=jpeg(), headers={"content-type": "image/jpeg", **headers}
            )

        first = asyncio.ensure_future(post())
        while not entered.is_set():
            await asyncio.sleep(0.01)
        late = asyncio.ensure_future(post(**{"X-Request-Timeout": "0.1"}))
        while batcher.depth < 1:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        gate.set()
        r = await late
        assert r.status_code == 504
        assert r.json() == {"detail": "deadline exceeded: not computed within the X-Request-Timeout of 0.1 s"}
        assert (await first).status_code == 200 and calls == [1]  # the late image never ran
        assert (await post(**{"X-Request-Timeout": "30"})).status_code == 200
        for bad in ("0", "-1", "abc", "nan", "inf", "3601"):
            r = await post(**{"X-Request-Timeout": bad})
            assert r.status_code == 422 and r.json() == {
                "detail": f"X-Request-Timeout must be a number of seconds in (0, 3600], got {bad!r}"
            }
