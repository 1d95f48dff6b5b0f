"""Prometheus metrics, in a registry of their own so that several apps (tests) never share counters."""

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512, 1024)
_BYTES_BUCKETS = tuple(2**k for k in range(10, 24))


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "freqserve_requests", "Classification requests by model and HTTP status", ["model", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "freqserve_request_seconds",
            "Request latency, body read to answer",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "freqserve_stage_seconds",
            "Latency per stage: read (JPEG -> model inputs), queue (waiting for a batch), infer (runtime call)",
            ["model", "stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "freqserve_batch_size", "Samples per runtime call", ["model", "graph"], buckets=_BATCH_BUCKETS, registry=r
        )
        self.runtime_bytes = Histogram(
            "freqserve_runtime_input_bytes",
            "Bytes of the tensors handed to the runtime per image",
            ["model"],
            buckets=_BYTES_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "freqserve_queue_depth", "Requests waiting for a batch", ["model", "graph"], registry=r
        )
        self.rejected = Counter(
            "freqserve_rejected_images",
            "Images refused by admission control (503 before the body was read)",
            ["model"],
            registry=r,
        )
        self.in_flight = Gauge(
            "freqserve_in_flight_images", "Images admitted and not yet answered", ["model"], registry=r
        )
        self.model_ready = Gauge(
            "freqserve_model_ready",
            "1 when the model is warmed up on the intended execution provider",
            ["model"],
            registry=r,
        )

    def track_queue(self, model: str, graph: str, depth: Callable[[], float]) -> None:
        self.queue_depth.labels(model, graph).set_function(depth)

    def batch_observer(self, model: str, graph: str) -> Callable[[int], None]:
        child = self.batch_size.labels(model, graph)
        return child.observe
