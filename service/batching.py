"""Dynamic micro-batching: requests for one graph wait at most ``max_delay`` to share a runtime call.

A bounded queue feeds one collector task per graph. The collector takes the oldest request, then keeps
taking until the batch is full or the oldest request has waited ``max_delay``, runs the batch in the
graph's own thread (the runtime releases the GIL), and hands every caller its row of the outputs. While a
batch runs, new requests queue up, so batches grow with load without any tuning.

The collector only waits for requests that are on their way (``arriving()``: being read in the reader
pool): a lone request runs at once instead of paying ``max_delay`` for company that will not come.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from inputs.graphs import Feeds

RunBatch = Callable[[Feeds], Feeds]


class QueueFull(Exception):
    """The bounded queue is full: the caller should answer 503 and ask the client to retry."""


class DeadlineExceeded(Exception):
    """The client's deadline passed before the work ran: it is dropped, never computed (the caller says 504)."""


def check_deadline(deadline: float | None, what: str) -> None:
    """Raise ``DeadlineExceeded`` if ``deadline`` (a ``time.perf_counter()`` instant) has passed."""
    if deadline is not None and time.perf_counter() >= deadline:
        raise DeadlineExceeded(what)


@dataclass(frozen=True)
class BatchTiming:
    queue_s: float  # enqueue -> the batch starts running
    infer_s: float  # the runtime call of the whole batch
    batch_size: int


@dataclass
class _Pending:
    feeds: Feeds
    future: asyncio.Future[tuple[Feeds, BatchTiming]]
    deadline: float | None = None
    enqueued: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    def __init__(
        self,
        name: str,
        run_batch: RunBatch,
        max_batch: int,
        max_delay_s: float,
        queue_size: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.name = name
        self._run_batch = run_batch
        self.max_batch = max_batch
        self.max_delay_s = max_delay_s
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=queue_size)
        self._on_batch = on_batch
        # One thread per graph: batches of one graph run one after another, which is what lets them grow.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"infer-{name}")
        self._task: asyncio.Task[None] | None = None
        self._arriving = 0

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """Wrap the work that precedes ``submit()`` (in the same task), so the collector knows to wait."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._collect(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._executor.shutdown(wait=True)

    async def submit(self, feeds: Feeds, deadline: float | None = None) -> tuple[Feeds, BatchTiming]:
        """Queue one sample (arrays without the batch axis); returns its outputs (without the batch axis).

        ``deadline`` (a ``time.perf_counter()`` instant): if it passes while the sample waits, the sample is
        dropped from its batch and ``DeadlineExceeded`` raised instead."""
        if self._task is None:
            raise RuntimeError(f"batcher {self.name} is not running")
        check_deadline(deadline, self.name)
        pending = _Pending(feeds, asyncio.get_running_loop().create_future(), deadline)
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            raise QueueFull(self.name) from None
        return await pending.future

    async def _collect(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            deadline = first.enqueued + self.max_delay_s
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                if self._arriving == 0:
                    break
                wait = deadline - time.perf_counter()
                if wait <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), wait))
                except asyncio.TimeoutError:  # noqa: UP041 (3.10 still has its own class)
                    break
            try:
                await self._run(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _run(self, batch: list[_Pending]) -> None:
        live = []
        for p in batch:
            if p.future.done():  # a client that went away cancelled its future
                continue
            try:
                check_deadline(p.deadline, self.name)
            except DeadlineExceeded as e:
                p.future.set_exception(e)
                continue
            live.append(p)
        if not live:
            return
        started = time.perf_counter()
        try:
            feeds = {name: np.stack([p.feeds[name] for p in live]) for name in live[0].feeds}
            outputs = await asyncio.get_running_loop().run_in_executor(self._executor, self._run_batch, feeds)
        except Exception as e:  # our bug or a runtime failure: every caller of this batch gets it
            for p in live:
                if not p.future.done():
                    p.future.set_exception(e)
            return
        infer_s = time.perf_counter() - started
        if self._on_batch is not None:
            self._on_batch(len(live))
        for i, p in enumerate(live):
            if not p.future.done():
                timing = BatchTiming(started - p.enqueued, infer_s, len(live))
                p.future.set_result(({name: out[i] for name, out in outputs.items()}, timing))
