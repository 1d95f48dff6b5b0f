"""Ray Serve: the same application, replicated by Ray (an optional extra: ``pip install 'freqserve[ray]'``).

Each replica runs ``service.app.create_app`` whole: its lifespan loads and warms the models, its handlers
read, batch and answer exactly as under uvicorn, our API and the v2 one alike. Ray adds the replicas behind
its HTTP proxy, restarts the ones that die, and can autoscale on ongoing requests. Nothing here
reimplements preprocessing, batching or errors. The micro-batching stays ours, inside each replica (it
batches per graph across concurrent requests; Ray's ``@serve.batch`` would batch whole HTTP requests).

Settings reach the replicas as ``FREQSERVE_*`` environment variables (``runtime_env``). The JPEG reader and
ONNX Runtime share a replica's CPUs; with ``--gpus-per-replica`` each replica also holds a GPU and its
graphs run on the CUDA provider (``FREQSERVE_DEVICE=cuda``).

    python -m service.ray_serve --replicas 2 --port 8000        # a local Ray cluster serving bundled/
"""

import argparse
import os
import time
from typing import Any

import ray
from fastapi import FastAPI
from ray import serve

from service.app import create_app
from service.logging import configure_logging
from service.settings import Settings


def _replica_app() -> FastAPI:
    """Built inside each replica (not pickled from the driver): settings from the replica's environment."""
    settings = Settings()
    configure_logging(settings.LOG_LEVEL)
    return create_app(settings)


@serve.ingress(_replica_app)
class FreqServe:
    """One replica: the whole freqserve application."""

    def check_health(self) -> None:
        # Ray restarts a replica whose health check raises: a degraded or stopping server is not healthy.
        state = self._asgi_app.state.service  # type: ignore[attr-defined]  (set by serve.ingress)
        if not state.ready:
            raise RuntimeError(state.not_ready_reason())


def freqserve_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("FREQSERVE_")}


def application(
    replicas: int = 2,
    cpus_per_replica: float = 1.0,
    gpus_per_replica: float = 0.0,
    max_ongoing_requests: int = 64,
    autoscale_max: int = 0,
) -> serve.Application:
    """The Ray Serve application: ``replicas`` fixed, or autoscaling on ongoing requests from ``replicas``
    up to ``autoscale_max`` when that is larger."""
    scaling: dict[str, Any] = {"num_replicas": replicas}
    if autoscale_max > replicas:
        scaling = {
            "autoscaling_config": {
                "min_replicas": replicas,
                "max_replicas": autoscale_max,
                "target_ongoing_requests": max(1, max_ongoing_requests // 2),
            }
        }
    return serve.deployment(
        FreqServe,
        name="freqserve",
        max_ongoing_requests=max_ongoing_requests,
        health_check_period_s=2,
        ray_actor_options={
            "num_cpus": cpus_per_replica,
            "num_gpus": gpus_per_replica,
            "runtime_env": {"env_vars": freqserve_env()},
        },
        **scaling,
    ).bind()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--autoscale-max", type=int, default=0, help="autoscale on ongoing requests up to this many")
    p.add_argument("--cpus-per-replica", type=float, default=1.0)
    p.add_argument("--gpus-per-replica", type=float, default=0.0)
    p.add_argument("--max-ongoing-requests", type=int, default=64)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray cluster (default: all)")
    a = p.parse_args(argv)
    ray.init(num_cpus=a.num_cpus, include_dashboard=False)
    serve.start(http_options={"host": a.host, "port": a.port})
    serve.run(
        application(a.replicas, a.cpus_per_replica, a.gpus_per_replica, a.max_ongoing_requests, a.autoscale_max),
        name="freqserve",
        route_prefix="/",
    )
    print(f"freqserve on Ray Serve: http://{a.host}:{a.port} ({a.replicas} replicas); Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.shutdown()


if __name__ == "__main__":
    main()
