"""The service's lifecycle: load every model once, warm it up, report readiness, drain on shutdown."""

import asyncio
import io
import logging
import time

import numpy as np
from PIL import Image

from service.handlers import ServedModel, serve_model
from service.metrics import Metrics
from service.reader import ReaderPool
from service.registry import discover, load_model
from service.runtime import ModelLoadError, OpenGraph, OrtGraph, intended_provider
from service.settings import Settings

log = logging.getLogger("freqserve.service")


def _warmup_jpeg(max_pixels: int) -> bytes:
    """A small real JPEG (made here, so warm-up depends on no file) that exercises the whole read path."""
    side = max(8, min(128, int(max_pixels**0.5)))
    y, x = np.mgrid[0:side, 0:side]
    rgb = np.stack([x * 2, y * 2, (x + y)], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


class ServiceState:
    def __init__(self, settings: Settings, open_graph: OpenGraph = OrtGraph) -> None:
        self.settings = settings
        self.open_graph = open_graph
        self.metrics = Metrics()
        self.models: dict[str, ServedModel] = {}
        self.phase = "loading"  # loading -> ready | degraded -> stopping
        self.problems: list[str] = []
        self.reader: ReaderPool | None = None

    @property
    def ready(self) -> bool:
        return self.phase == "ready"

    def not_ready_reason(self) -> str:
        if self.phase == "loading":
            return "not ready: models are still loading"
        if self.phase == "stopping":
            return "not ready: shutting down"
        return "not ready: " + "; ".join(self.problems)

    async def start(self) -> None:
        s = self.settings
        started = time.perf_counter()
        try:
            intended = intended_provider(s.DEVICE)
            files = discover(s.MODEL_DIR)
            self.reader = ReaderPool(s.READ_THREADS)
            for f in files:
                loaded = await asyncio.to_thread(load_model, f, intended, s.INTRA_OP_THREADS, self.open_graph)
                self.models[f.name] = serve_model(loaded, s, self.reader, self.metrics)
        except ModelLoadError as e:
            log.error("start-up failed: %s", e)
            raise
        warm = _warmup_jpeg(s.MAX_PIXELS)
        for m in self.models.values():
            await asyncio.to_thread(m.warm_up_graphs)
            m.start()
            await m.classify(warm, 1)  # the whole path once: reader, batcher, runtime, top-k
            problems = m.provider_problems()
            self.problems.extend(problems)
            self.metrics.model_ready.labels(m.name).set(0 if problems else 1)
            log.info(
                "model loaded",
                extra={
                    "model": m.name,
                    "kind": m.kind,
                    "provider": m.provider,
                    "intended": intended,
                    "graphs": sorted(map(str, m.batchers)),
                },
            )
        for p in self.problems:
            log.error("execution provider mismatch: %s", p)
        self.phase = "ready" if not self.problems else "degraded"
        log.info(
            "service %s",
            self.phase,
            extra={
                "models": sorted(self.models),
                "startup_s": round(time.perf_counter() - started, 3),
                "read_threads": s.READ_THREADS,
                "intra_op_threads": s.INTRA_OP_THREADS,
                "max_batch": s.MAX_BATCH,
                "max_delay_ms": s.MAX_DELAY_MS,
                "queue_size": s.QUEUE_SIZE,
            },
        )

    async def stop(self) -> None:
        self.phase = "stopping"
        for m in self.models.values():
            await m.stop()
            self.metrics.model_ready.labels(m.name).set(0)
        if self.reader is not None:
            self.reader.shutdown()
        log.info("service stopped")
