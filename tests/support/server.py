"""A real ``python -m service`` (uvicorn) on a free loopback port, for the tests that need a live socket."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(model_dir: Path, log: Path, **env: str) -> Server:
    port = free_port()
    full = (
        os.environ
        | {
            "FREQSERVE_HOST": "127.0.0.1",
            "FREQSERVE_PORT": str(port),
            "FREQSERVE_MODEL_DIR": str(model_dir),
            "FREQSERVE_DEVICE": "cpu",
            "FREQSERVE_READ_THREADS": "2",
            "FREQSERVE_INTRA_OP_THREADS": "1",
        }
        | env
    )
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=REPO, env=full, stderr=err, stdout=err)
    return Server(f"http://127.0.0.1:{port}", proc, log)


def wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited with {server.proc.returncode}:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not ready after {timeout}s:\n{server.log.read_text()}")


def stop(server: Server) -> int:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            return server.proc.wait(30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            return server.proc.wait()
    return server.proc.returncode


@contextmanager
def running(model_dir: Path, log: Path, **env: str) -> Iterator[Server]:
    server = launch(model_dir, log, **env)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(server)
