"""One served model: bytes -> inputs (reader pool) -> micro-batched runtime call(s) -> top-k predictions.

``dct`` and ``rgb`` models are one graph each. ``drnet`` runs its predictor on the DC thumbnail, then only
the path at the resolution it picked; every graph has its own batcher, so paths batch among themselves.
"""

from dataclasses import dataclass
from functools import partial

import numpy as np

from jpegdct import Limits
from models.contract import InputContract
from models.preprocess import dct_input, rgb_input, thumbnail_input
from service.batching import BatchTiming, Feeds, MicroBatcher
from service.metrics import Metrics
from service.preprocess import ReaderPool
from service.registry import LoadedModel, expected_inputs
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


def top_k(logits: np.ndarray, contract: InputContract, k: int) -> list[Prediction]:
    z = logits.astype(np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")[:k]
    return [Prediction(contract.labels[i], contract.class_ids[i], int(i), float(p[i])) for i in order]


def _dct_feeds(data: bytes, contract: InputContract, limits: Limits) -> Feeds:
    d = dct_input(data, contract, limits)
    return {"luma": d.luma, "chroma": d.chroma, "luma_q": d.luma_q, "chroma_q": d.chroma_q}


def _rgb_feeds(data: bytes, size: int, resize_short: int, limits: Limits) -> Feeds:
    return {"image": rgb_input(data, size, resize_short, limits)}


def _thumbnail_feeds(data: bytes, size: int, limits: Limits) -> Feeds:
    return {"thumbnail": thumbnail_input(data, size, limits)}


def _nbytes(feeds: Feeds) -> int:
    return sum(a.nbytes for a in feeds.values())


class ServedModel:
    def __init__(self, loaded: LoadedModel, settings: Settings, reader: ReaderPool, metrics: Metrics) -> None:
        self.loaded = loaded
        self.name = loaded.name
        self.contract = loaded.contract
        self.kind = loaded.contract.kind
        self.reader = reader
        self.metrics = metrics
        self.limits = Limits(max_pixels=settings.MAX_PIXELS)
        self.max_batch = settings.MAX_BATCH
        self.batchers = {
            key: MicroBatcher(
                f"{self.name}/{key}",
                graph.run,
                settings.MAX_BATCH,
                settings.MAX_DELAY_MS / 1000,
                settings.QUEUE_SIZE,
                metrics.batch_observer(self.name, key),
            )
            for key, graph in loaded.graphs.items()
        }
        c = self.contract
        if self.kind == "dct":
            self._prepare = partial(_dct_feeds, contract=c, limits=self.limits)
        elif self.kind == "rgb":
            self._prepare = partial(_rgb_feeds, size=c.size, resize_short=c.resize_short, limits=self.limits)
        else:
            self._prepare = partial(_thumbnail_feeds, size=c.thumbnail, limits=self.limits)
            self._paths = {
                r: partial(_rgb_feeds, size=r, resize_short=c.resize_short_for(r), limits=self.limits)
                for r in c.resolutions
            }

    @property
    def providers(self) -> dict[str, str]:
        return {key: g.provider for key, g in self.loaded.graphs.items()}

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
            self.metrics.track_queue(self.name, key, lambda b=b: b.depth)

    async def stop(self) -> None:
        for b in self.batchers.values():
            await b.stop()

    def warm_up_graphs(self) -> None:
        """Run every graph at batch 1 and at the largest batch, so first requests pay no allocation."""
        for key, graph in self.loaded.graphs.items():
            inputs = expected_inputs(self.contract, key)
            for n in sorted({1, self.max_batch}):
                feeds = {name: np.zeros((n, *shape), dtype=_NUMPY[dtype]) for name, (dtype, shape) in inputs.items()}
                graph.run(feeds)

    async def classify(self, data: bytes, k: int) -> Classification:
        batcher = self.batchers["classifier" if self.kind != "drnet" else "predictor"]
        with batcher.arriving():
            feeds, read_s = await self.reader.run(self._prepare, data)
        out, t = await batcher.submit(feeds)
        if self.kind != "drnet":
            result = Classification(
                top_k(out["logits"], self.contract, k), _nbytes(feeds), read_s, t.queue_s, t.infer_s
            )
        else:
            result = await self._drnet_path(data, feeds, out, read_s, t, k)
        self._observe(result)
        return result

    async def _drnet_path(
        self, data: bytes, thumb: Feeds, out: Feeds, read_s: float, t: BatchTiming, k: int
    ) -> Classification:
        r = self.contract.resolutions[int(np.argmax(out["resolution_logits"]))]
        batcher = self.batchers[f"path_{r}"]
        with batcher.arriving():
            image, read2_s = await self.reader.run(self._paths[r], data)
        out2, t2 = await batcher.submit(image)
        gflops = self.loaded.gflops["predictor"] + self.loaded.gflops[f"path_{r}"]
        return Classification(
            top_k(out2["logits"], self.contract, k),
            _nbytes(thumb) + _nbytes(image),
            read_s + read2_s,
            t.queue_s + t2.queue_s,
            t.infer_s + t2.infer_s,
            resolution=r,
            gflops=gflops,
        )

    def _observe(self, r: Classification) -> None:
        m = self.metrics
        m.stage_seconds.labels(self.name, "read").observe(r.read_s)
        m.stage_seconds.labels(self.name, "queue").observe(r.queue_s)
        m.stage_seconds.labels(self.name, "infer").observe(r.infer_s)
        m.runtime_bytes.labels(self.name).observe(r.input_bytes)


_NUMPY = {"tensor(int16)": np.int16, "tensor(float)": np.float32, "tensor(uint8)": np.uint8}
