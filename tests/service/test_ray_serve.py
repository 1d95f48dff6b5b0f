"""Ray Serve, live (``make ray-test``; skipped elsewhere): a local Ray cluster, two replicas, both APIs through
Ray's proxy, and one replica killed mid-run without losing a request; for each layout: the whole application
per replica, and the split one (graphs in a GraphServer actor) with our batching and with Ray's."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.support.jpegs import jpeg
from tests.support.server import free_port

pytestmark = pytest.mark.skipif(
    os.environ.get("FREQSERVE_RAY_TEST") != "1", reason="a local Ray cluster: run by `make ray-test`"
)
REPO = Path(__file__).resolve().parents[2]
JPEG = {"content-type": "image/jpeg"}


def replica_pids(deployment: str = "freqserve") -> set[int]:
    """Processes of a deployment's replicas (Ray titles them ``ray::ServeReplica:<app>:<name>``)."""
    pids = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if f"ServeReplica:freqserve:{deployment}".encode() in cmd:
                pids.add(int(proc.name))
    return pids


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


LAYOUTS = {
    "whole": [],
    "split-ours": ["--split", "--batching", "ours", "--graph-cpus", "0.5"],
    "split-ray": ["--split", "--batching", "ray", "--graph-cpus", "0.5"],
}


@pytest.fixture(scope="module", params=list(LAYOUTS))
def ray_url(model_dir: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    pytest.importorskip("ray")
    port = free_port()
    log = tmp_path_factory.mktemp("ray") / "serve.log"
    env = os.environ | {
        "FREQSERVE_MODEL_DIR": str(model_dir),
        "FREQSERVE_DEVICE": "cpu",
        "FREQSERVE_READ_THREADS": "1",
        "FREQSERVE_INTRA_OP_THREADS": "1",
    }
    cmd = [sys.executable, "-m", "service.ray_serve", "--replicas", "2", "--cpus-per-replica", "0.5"]
    cmd += LAYOUTS[request.param]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port), "--num-cpus", "2"], cwd=REPO, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            graphs = len(replica_pids("graphs")) == (1 if "--split" in LAYOUTS[request.param] else 0)
            return (
                httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200
                and len(replica_pids()) == 2
                and graphs
            )
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, 180, "two ready replicas")
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        subprocess.run(
            [sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"], capture_output=True, timeout=60
        )


def test_both_apis_answer_through_rays_proxy(ray_url: str) -> None:
    import tritonclient.http as triton

    r = httpx.post(f"{ray_url}/v1/models/tiny-dct/classify", content=jpeg(), headers=JPEG, timeout=30)
    assert r.status_code == 200 and r.json()["predictions"]
    client = triton.InferenceServerClient(url=ray_url.removeprefix("http://"))
    assert client.is_server_ready() and client.get_model_metadata("tiny-dct")["name"] == "tiny-dct"
    x = triton.InferInput("image", [2], "BYTES")
    x.set_data_from_numpy(np.array([jpeg(), jpeg((20, 90, 220), size=(80, 60))], dtype=np.object_), binary_data=True)
    out = client.infer("tiny-dct", [x]).as_numpy("probabilities")
    assert out.shape[0] == 2 and np.allclose(out.sum(1), 1, atol=1e-4)
    # Each image's row is its own (batches are split back correctly, in every layout): as asked alone.
    assert not np.allclose(out[0], out[1], atol=1e-3)
    for photo, row in zip([jpeg(), jpeg((20, 90, 220), size=(80, 60))], out, strict=True):
        one = triton.InferInput("image", [1], "BYTES")
        one.set_data_from_numpy(np.array([photo], dtype=np.object_), binary_data=True)
        np.testing.assert_allclose(client.infer("tiny-dct", [one]).as_numpy("probabilities")[0], row, atol=1e-5)
    bad = httpx.post(f"{ray_url}/v1/models/tiny-dct/classify", content=b"not a jpeg", headers=JPEG, timeout=30)
    assert bad.status_code == 415  # our error mapping, through Ray


def test_killing_a_replica_loses_no_request_that_is_retried_once(ray_url: str) -> None:
    photo = jpeg()
    before = replica_pids()
    retried, answered = 0, 0
    with httpx.Client(base_url=ray_url, timeout=60) as client:
        for i in range(120):
            if i == 30:
                os.kill(min(before), signal.SIGKILL)  # mid-run
            for attempt in (0, 1):
                try:
                    r = client.post("/v1/models/tiny-dct/classify", content=photo, headers=JPEG)
                except httpx.TransportError:
                    r = None
                if r is not None and r.status_code == 200:
                    answered += 1
                    break
                assert attempt == 0, f"request {i} failed twice: {None if r is None else (r.status_code, r.text)}"
                retried += 1
                time.sleep(0.5)
    assert answered == 120
    print(f"replica killed at request 30: {retried} retried once, all 120 answered")
    wait_for(lambda: len(replica_pids()) == 2 and replica_pids() != before, 120, "Ray to bring the replica back")
