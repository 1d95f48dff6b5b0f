"""deploy/requirements.py (the image's dependency layer) and deploy/healthcheck.py (its HEALTHCHECK)."""

import http.server
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"deploy_{name}", REPO / "deploy" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


requirements = _load("requirements")
healthcheck = _load("healthcheck")


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_requirements_are_base_plus_serve_without_torch(pyproject: dict) -> None:
    reqs = requirements.serving_requirements(pyproject, ["serve"], None)
    names = [requirements.requirement_name(r) for r in reqs]
    assert set(pyproject["project"]["dependencies"]) <= set(reqs)
    assert set(pyproject["project"]["optional-dependencies"]["serve"]) <= set(reqs)
    assert "torch" not in names and "onnx" not in names
    assert len(names) == len(set(names))


def test_onnxruntime_is_swapped_not_added(pyproject: dict) -> None:
    reqs = requirements.serving_requirements(pyproject, ["serve"], "onnxruntime-gpu>=1.19,<1.27")
    names = [requirements.requirement_name(r) for r in reqs]
    assert "onnxruntime" not in names
    assert reqs[-1] == "onnxruntime-gpu>=1.19,<1.27"


def test_unknown_extra_names_the_ones_there_are(pyproject: dict) -> None:
    with pytest.raises(KeyError, match="no extra 'gpu'; it has: .*serve"):
        requirements.serving_requirements(pyproject, ["gpu"], None)


@pytest.mark.parametrize(
    ("spec", "name"),
    [("Pydantic_Settings>=2.2", "pydantic-settings"), ("onnxruntime-gpu", "onnxruntime-gpu"), ("a.b[x]>=1", "a-b")],
)
def test_requirement_name_is_normalized(spec: str, name: str) -> None:
    assert requirements.requirement_name(spec) == name


def test_requirements_cli_prints_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert requirements.main([str(REPO / "pyproject.toml"), "--onnxruntime", "onnxruntime>=1.18"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "onnxruntime>=1.18" in lines and any(line.startswith("fastapi") for line in lines)


class _Readyz(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self) -> None:
        code = type(self).status if self.path == "/readyz" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b'{"detail": "loading"}' if code == 503 else b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def readyz_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Readyz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_healthcheck_fails_while_not_ready_then_passes(readyz_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREQSERVE_PORT", str(readyz_port))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # must not be used for the local check
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    _Readyz.status = 503
    assert healthcheck.main() == 1
    _Readyz.status = 200
    assert healthcheck.main() == 0


def test_healthcheck_fails_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREQSERVE_PORT", "9")  # discard port: nothing answers HTTP there
    monkeypatch.setenv("FREQSERVE_HEALTHCHECK_TIMEOUT_S", "1")
    assert healthcheck.main() == 1


def test_healthcheck_url_follows_the_port_setting() -> None:
    assert healthcheck.readyz_url({}) == "http://127.0.0.1:8000/readyz"
    assert healthcheck.readyz_url({"FREQSERVE_PORT": "9000"}) == "http://127.0.0.1:9000/readyz"
