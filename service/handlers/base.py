"""What every served model shares: one micro-batcher per graph, the reader pool, warm-up, metrics.

A handler (one per model kind, ``service.handlers.HANDLERS``) turns one JPEG into a ``Classification``:
decode (bytes -> the entry graph's inputs, in the reader pool), predict (micro-batched runtime calls), and
encode (top-k). What differs per kind is only which graphs run in which order.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from inputs.contract import InputContract
from inputs.graphs import Feeds, GraphKey
from inputs.kinds import GraphSpec
from jpegdct import Limits
from service.batching import BatchTiming, MicroBatcher, QueueFull, check_deadline
from service.metrics import Metrics
from service.reader import ReaderPool
from service.registry import LoadedModel
from service.settings import Settings


@dataclass(frozen=True)
class Prediction:
    label: str
    class_id: str
    index: int
    score: float


@dataclass
class Classification:
    predictions: list[Prediction]
    input_bytes: int
    read_s: float
    queue_s: float
    infer_s: float
    resolution: int | None = None
    gflops: float | None = None


@dataclass(frozen=True)
class GraphRun:
    """One graph's answer for one image, with what it cost."""

    outputs: Feeds
    input_bytes: int
    read_s: float
    timing: BatchTiming


def top_k(logits: np.ndarray, contract: InputContract, k: int) -> list[Prediction]:
    z = logits.astype(np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")[:k]
    return [Prediction(contract.labels[i], contract.class_ids[i], int(i), float(p[i])) for i in order]


class ServedModel(ABC):
    def __init__(self, loaded: LoadedModel, settings: Settings, reader: ReaderPool, metrics: Metrics) -> None:
        self.loaded = loaded
        self.name = loaded.name
        self.contract = loaded.contract
        self.kind = loaded.contract.kind
        self.specs: dict[GraphKey, GraphSpec] = loaded.specs
        self.reader = reader
        self.metrics = metrics
        self.limits = Limits(max_pixels=settings.MAX_PIXELS)
        self.max_batch = settings.MAX_BATCH
        self.max_in_flight = settings.QUEUE_SIZE
        self.in_flight = 0  # images admitted and not yet answered (reading, queued or running)
        metrics.in_flight.labels(self.name).set_function(lambda: self.in_flight)
        self.batchers = {
            key: MicroBatcher(
                f"{self.name}/{key}",
                graph.run,
                settings.MAX_BATCH,
                settings.MAX_DELAY_MS / 1000,
                settings.QUEUE_SIZE,
                metrics.batch_observer(self.name, str(key)),
            )
            for key, graph in loaded.graphs.items()
        }

    @contextmanager
    def admit(self, images: int = 1) -> Iterator[None]:
        """Admission control, before any byte of the body is read: at most ``QUEUE_SIZE`` images in flight
        per model. Over it, ``QueueFull`` at once (503 + Retry-After), so overload costs no reading or
        decoding of work that would be thrown away. Runs on the event loop only: no lock needed."""
        if self.in_flight + images > self.max_in_flight:
            self.metrics.rejected.labels(self.name).inc(images)
            raise QueueFull(f"{self.name}: {self.in_flight} images in flight, limit {self.max_in_flight}")
        self.in_flight += images
        try:
            yield
        finally:
            self.in_flight -= images

    @property
    def input_bytes(self) -> int | None:
        """Bytes handed to the runtime per image, where every image costs the same (None otherwise)."""
        return None

    @abstractmethod
    async def classify(self, data: bytes, k: int, deadline: float | None = None) -> Classification:
        """``deadline``: a ``time.perf_counter()`` instant after which no more work is started for this image
        (``DeadlineExceeded``)."""

    @property
    def providers(self) -> dict[str, str]:
        return {str(key): g.provider for key, g in self.loaded.graphs.items()}

    @property
    def provider(self) -> str:
        """The provider in use: one name when every graph agrees, else a comma-separated list."""
        return ", ".join(sorted(set(self.providers.values())))

    def provider_problems(self) -> list[str]:
        return [
            f"model {self.name!r}: {g.path.name} runs on {g.provider}, intended {g.intended}"
            for g in self.loaded.graphs.values()
            if not g.on_intended_provider
        ]

    def start(self) -> None:
        for key, b in self.batchers.items():
            b.start()
            self.metrics.track_queue(self.name, str(key), lambda b=b: b.depth)

    async def stop(self) -> None:
        for b in self.batchers.values():
            await b.stop()

    def warm_up_graphs(self) -> None:
        """Run every graph at batch 1 and at the largest batch, so first requests pay no allocation."""
        for key, graph in self.loaded.graphs.items():
            for n in sorted({1, self.max_batch}):
                graph.run(self.specs[key].zeros(n))

    async def run_graph(self, key: GraphKey, data: bytes, deadline: float | None = None) -> GraphRun:
        """Decode ``data`` into graph ``key``'s inputs in the reader pool, then run it micro-batched; past
        ``deadline``, neither starts (``DeadlineExceeded``)."""
        batcher = self.batchers[key]
        check_deadline(deadline, batcher.name)
        with batcher.arriving():
            feeds, read_s = await self.reader.run(self.specs[key].prepare, data, self.limits)
        out, timing = await batcher.submit(feeds, deadline)
        return GraphRun(out, sum(a.nbytes for a in feeds.values()), read_s, timing)

    def observe(self, r: Classification) -> Classification:
        m = self.metrics
        m.stage_seconds.labels(self.name, "read").observe(r.read_s)
        m.stage_seconds.labels(self.name, "queue").observe(r.queue_s)
        m.stage_seconds.labels(self.name, "infer").observe(r.infer_s)
        m.runtime_bytes.labels(self.name).observe(r.input_bytes)
        return r
