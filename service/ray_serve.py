"""Ray Serve: the same application, replicated by Ray (an optional extra: ``pip install 'freqserve[ray]'``).

Each replica runs ``service.app.create_app`` whole: its lifespan loads and warms the models, its handlers
read, batch and answer exactly as under uvicorn, our API and the v2 one alike. Ray adds the replicas behind
its HTTP proxy, restarts the ones that die, and can autoscale on ongoing requests. Nothing here
reimplements preprocessing, batching or errors. The micro-batching stays ours, inside each replica (it
batches per graph across concurrent requests; Ray's ``@serve.batch`` would batch whole HTTP requests).

Settings reach the replicas as ``FREQSERVE_*`` environment variables (``runtime_env``). Two layouts:

- **whole** (default): the JPEG reader and ONNX Runtime share a replica's CPUs; with ``--gpus-per-replica``
  each replica also holds a GPU and its graphs run on the CUDA provider.
- **split** (``--split``): the replicas are CPU actors (HTTP, reader, our handlers); every graph runs in
  ``GraphServer`` actors (``--graph-replicas``, each with ``--graph-gpus``: the ONNX graphs on GPU actors
  where a GPU exists). A replica's graphs are ``RemoteGraph`` stand-ins, given to the same ``create_app``,
  so nothing of preprocessing, batching or errors is written twice. ``--batching ours``: each replica's
  micro-batcher batches per graph (waiting up to ``MAX_DELAY_MS``) and sends whole batches; ``--batching
  ray``: replicas wait for nothing (``MAX_DELAY_MS=0``) and send each image on its own; Ray's
  ``@serve.batch`` in the graph actor waits and batches across all replicas
  (``bench/bench_ray.py`` measures which).

    python -m service.ray_serve --replicas 2 --port 8000        # a local Ray cluster serving bundled/
    python -m service.ray_serve --replicas 2 --split --batching ray --graph-gpus 1
"""

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import ray
from fastapi import FastAPI
from ray import serve
from ray.serve.handle import DeploymentHandle

from inputs.graphs import Feeds
from service.app import create_app
from service.logging import configure_logging
from service.runtime import InputSpec, OrtGraph, intended_provider
from service.settings import Settings

APP = "freqserve"
GRAPHS = "graphs"  # the GraphServer deployment's name
# Set (to "ours" or "ray") in the replicas of a split application: their graphs are in GraphServer actors.
SPLIT_ENV = "RAY_FREQSERVE_SPLIT"


class GraphServer:
    """The ONNX graphs of every model, in an actor of their own (a GPU actor where one exists): opened on the
    first ``describe`` of each file, run by ``run`` (a batch from a replica's micro-batcher) or by
    ``run_one`` (single images, batched here by Ray's ``@serve.batch`` across all replicas)."""

    def __init__(self, max_batch: int, max_delay_s: float) -> None:
        self.settings = Settings()
        configure_logging(self.settings.LOG_LEVEL)
        self.intended = intended_provider(self.settings.DEVICE)
        self.graphs: dict[str, OrtGraph] = {}
        self.run_one.set_max_batch_size(max_batch)
        self.run_one.set_batch_wait_timeout_s(max_delay_s)

    def _graph(self, path: str) -> OrtGraph:
        if path not in self.graphs:
            self.graphs[path] = OrtGraph(Path(path), self.intended, self.settings.INTRA_OP_THREADS)
        return self.graphs[path]

    def describe(self, path: str) -> dict[str, Any]:
        g = self._graph(path)
        return {
            "intended": g.intended,
            "provider": g.provider,
            "metadata": g.metadata,
            "inputs": g.inputs,
            "outputs": g.outputs,
            "output_shapes": g.output_shapes,
        }

    async def run(self, path: str, feeds: Feeds) -> Feeds:
        return await asyncio.to_thread(self._graph(path).run, feeds)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.002)
    async def run_one(self, items: list[tuple[str, Feeds]]) -> list[Feeds]:
        """Single images (batch axis 1) of any graphs -> their outputs; one runtime call per graph."""
        out: list[Feeds | None] = [None] * len(items)
        for path in dict.fromkeys(p for p, _ in items):
            rows = [i for i, (p, _) in enumerate(items) if p == path]
            feeds = {name: np.concatenate([items[i][1][name] for i in rows]) for name in items[rows[0]][1]}
            result = await asyncio.to_thread(self._graph(path).run, feeds)
            for j, i in enumerate(rows):
                out[i] = {name: a[j : j + 1] for name, a in result.items()}
        return out  # type: ignore[return-value]  (every row filled)


class RemoteGraph:
    """A replica's stand-in for a graph in ``GraphServer``: what it declares, asked once; each run a remote
    call (made from the batcher's thread, never from the event loop)."""

    def __init__(self, handle: DeploymentHandle, path: Path, batching: str) -> None:
        self._handle = handle
        self._one_by_one = batching == "ray"
        self.path = path
        d = handle.describe.remote(str(path)).result()
        self.intended: str = d["intended"]
        self.provider: str = d["provider"]
        self.metadata: dict[str, str] = d["metadata"]
        self.inputs: tuple[InputSpec, ...] = tuple(d["inputs"])
        self.outputs: tuple[str, ...] = tuple(d["outputs"])
        self.output_shapes: dict[str, tuple[int | str | None, ...]] = d["output_shapes"]

    @property
    def on_intended_provider(self) -> bool:
        return self.provider == self.intended

    def run(self, feeds: Feeds) -> Feeds:
        if not self._one_by_one:
            return self._handle.run.remote(str(self.path), feeds).result()
        n = len(next(iter(feeds.values())))  # each image on its own: Ray batches them with other replicas' images
        rows = [
            self._handle.run_one.remote((str(self.path), {k: a[i : i + 1] for k, a in feeds.items()})) for i in range(n)
        ]
        outs = [r.result() for r in rows]
        return {name: np.concatenate([o[name] for o in outs]) for name in outs[0]}


def _replica_app() -> FastAPI:
    """Built inside each replica (not pickled from the driver): settings from the replica's environment."""
    settings = Settings()
    configure_logging(settings.LOG_LEVEL)
    batching = os.environ.get(SPLIT_ENV)
    if not batching:
        return create_app(settings)
    handle = serve.get_deployment_handle(GRAPHS, app_name=APP)
    return create_app(settings, lambda path, _intended, _threads: RemoteGraph(handle, path, batching))


@serve.ingress(_replica_app)
class FreqServe:
    """One replica: the whole freqserve application (in a split application, its graphs are remote)."""

    def __init__(self, graphs: DeploymentHandle | None = None) -> None:
        # ``graphs`` only ties the GraphServer's deployment to this one; the app's graphs look it up by name.
        self._graphs = graphs

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
    split: str | None = None,
    graph_replicas: int = 1,
    graph_cpus: float = 1.0,
    graph_gpus: float = 0.0,
) -> serve.Application:
    """The Ray Serve application: ``replicas`` fixed, or autoscaling on ongoing requests from ``replicas``
    up to ``autoscale_max`` when that is larger. ``split`` ("ours" or "ray", the batching): the graphs in
    ``graph_replicas`` GraphServer actors of ``graph_cpus``/``graph_gpus`` each, the replicas CPU only."""
    scaling: dict[str, Any] = {"num_replicas": replicas}
    if autoscale_max > replicas:
        scaling = {
            "autoscaling_config": {
                "min_replicas": replicas,
                "max_replicas": autoscale_max,
                "target_ongoing_requests": max(1, max_ongoing_requests // 2),
            }
        }
    env = freqserve_env()
    graphs = None
    if split is not None:
        settings = Settings()
        graph_env = env if graph_gpus else env | {"FREQSERVE_DEVICE": "cpu"}
        graphs = serve.deployment(
            GraphServer,
            name=GRAPHS,
            num_replicas=graph_replicas,
            max_ongoing_requests=max(64, 4 * settings.QUEUE_SIZE),
            ray_actor_options={"num_cpus": graph_cpus, "num_gpus": graph_gpus, "runtime_env": {"env_vars": graph_env}},
        ).bind(settings.MAX_BATCH, settings.MAX_DELAY_MS / 1000)
        # When Ray batches, a replica's batcher waits for nothing (it forwards what is queued, image by image) and
        # the waiting is @serve.batch's, across all replicas; the replicas' graphs are remote.
        env = (
            env
            | {SPLIT_ENV: split, "FREQSERVE_DEVICE": "cpu"}
            | ({"FREQSERVE_MAX_DELAY_MS": "0"} if split == "ray" else {})
        )
        gpus_per_replica = 0.0
    ingress = serve.deployment(
        FreqServe,
        name="freqserve",
        max_ongoing_requests=max_ongoing_requests,
        health_check_period_s=2,
        ray_actor_options={
            "num_cpus": cpus_per_replica,
            "num_gpus": gpus_per_replica,
            "runtime_env": {"env_vars": env},
        },
        **scaling,
    )
    # Bound together so that Ray deploys the GraphServer with the application (the replicas find it by name).
    return ingress.bind() if graphs is None else ingress.bind(graphs)


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
    p.add_argument("--split", action="store_true", help="graphs in GraphServer actors, replicas CPU only")
    p.add_argument("--batching", choices=("ours", "ray"), default="ours", help="with --split: who batches")
    p.add_argument("--graph-replicas", type=int, default=1)
    p.add_argument("--graph-cpus", type=float, default=1.0)
    p.add_argument("--graph-gpus", type=float, default=0.0, help="GPUs per GraphServer (CUDA provider)")
    a = p.parse_args(argv)
    ray.init(num_cpus=a.num_cpus, include_dashboard=False)
    serve.start(http_options={"host": a.host, "port": a.port})
    serve.run(
        application(
            a.replicas,
            a.cpus_per_replica,
            a.gpus_per_replica,
            a.max_ongoing_requests,
            a.autoscale_max,
            a.batching if a.split else None,
            a.graph_replicas,
            a.graph_cpus,
            a.graph_gpus,
        ),
        name=APP,
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
