"""``python -m loadtest`` against a real ``python -m service`` on a free loopback port, serving tiny models.

The models come from the shared builder (tests/support/onnx_models.py), so both suites exercise the same
contract (inputs/README.md).
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from inputs.kinds import entry_graph
from loadtest.cli import EXIT_OK, EXIT_THRESHOLD, main
from tests.support import onnx_models as svc
from tests.support.loadtest import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("onnx")
    model_dir = svc.write_models(tmp_path_factory.mktemp("models"))
    port = free_port()
    env = {
        **os.environ,
        "FREQSERVE_HOST": "127.0.0.1",
        "FREQSERVE_PORT": str(port),
        "FREQSERVE_MODEL_DIR": str(model_dir),
        "FREQSERVE_DEVICE": "cpu",
        "FREQSERVE_READ_THREADS": "1",
        "FREQSERVE_INTRA_OP_THREADS": "1",
        "FREQSERVE_LOG_LEVEL": "WARNING",
    }
    env.pop("FREQSERVE_API_KEY", None)
    log = tmp_path_factory.mktemp("log") / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=REPO, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1.0, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"service not ready after {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_two_models_closed_and_open_loop(service_url: str, jpeg_dir: Path, tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "report.json", tmp_path / "report.csv"
    served = [m["name"] for m in httpx.get(f"{service_url}/v1/models", trust_env=False).json()["models"]]
    dct, rgb = (next(n for n in served if n.endswith(kind)) for kind in ("dct", "rgb"))
    cmd = [
        sys.executable, "-m", "loadtest", "--url", service_url, "--images", str(jpeg_dir),
        "--models", f"{dct},{rgb}", "--concurrency", "1,4", "--rate", "40", "--requests", "16", "--warmup", "2",
        "--json", str(out_json), "--csv", str(out_csv), "--fail-if", "error_rate>0",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    doc = json.loads(out_json.read_text())
    assert [(s["model"], s["mode"], s["level"]) for s in doc["steps"]] == [
        (dct, "closed", 1), (rgb, "closed", 1), (dct, "closed", 4), (rgb, "closed", 4), (dct, "open", 40.0),
        (rgb, "open", 40.0),
    ]  # fmt: skip
    for step in doc["steps"]:
        assert step["ok"] == step["requests"] == 16, step
        assert step["p50_ms"] <= step["p99_ms"] <= step["max_ms"]
        assert step["server_infer_ms_mean"] is not None
    # The server reports what it handed the runtime: the contracts' input sizes.
    input_bytes = {s["model"]: s["mean_input_bytes"] for s in doc["steps"]}
    assert input_bytes == {dct: entry_graph(svc.DCT).input_bytes, rgb: entry_graph(svc.RGB).input_bytes}
    assert len(doc["ratios"]) == 3
    assert f"throughput {dct} / {rgb} at c=4:" in done.stdout
    assert len(out_csv.read_text().splitlines()) == 7


def test_bytes_that_are_not_a_jpeg_are_counted_as_4xx(service_url: str, jpeg_dir: Path, tmp_path: Path) -> None:
    # Not a JPEG, though named and sent as one: the server refuses it, the client counts it by status.
    (jpeg_dir / "bogus.jpg").write_bytes(b"not a jpeg at all")
    out = tmp_path / "r.json"
    served = [m["name"] for m in httpx.get(f"{service_url}/v1/models", trust_env=False).json()["models"]]
    dct = next(n for n in served if n.endswith("dct"))
    code = main(
        ["--url", service_url, "--images", str(jpeg_dir), "--models", dct, "--concurrency", "1", "--requests", "14",
         "--warmup", "0", "--quiet", "--json", str(out), "--fail-if", "errors>0"]
    )  # fmt: skip
    assert code == EXIT_THRESHOLD
    [step] = json.loads(out.read_text())["steps"]
    assert step["errors"] == 2  # 7 files, round-robin over 14 requests: the bogus one twice
    assert step["errors_by_status"] == {"415": 2}  # the service answers 415 for non-JPEG bytes


def test_drnet_answers_give_the_chosen_resolutions_and_compute(
    service_url: str, jpeg_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    served = [m["name"] for m in httpx.get(f"{service_url}/v1/models", trust_env=False).json()["models"]]
    drnet = next(n for n in served if n.endswith("drnet"))
    code = main(
        ["--url", service_url, "--images", str(jpeg_dir), "--models", drnet, "--concurrency", "2", "--requests", "12",
         "--warmup", "0", "--quiet", "--json", str(out)]
    )  # fmt: skip
    assert code == EXIT_OK
    [step] = json.loads(out.read_text())["steps"]
    assert step["ok"] == 12
    assert set(step["resolutions"]) <= {str(r) for r in svc.DRNET.resolutions}
    assert sum(step["resolutions"].values()) == 12
    assert step["mean_gflops"] > 0
