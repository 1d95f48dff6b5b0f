"""The serving stack never imports torch: the folder boundary (service/ reads inputs/ and ONNX files, never
models/) is checked by importing all of it where importing torch raises."""

import subprocess
import sys
from pathlib import Path

from inputs.kinds import KINDS
from service.handlers import HANDLERS

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "models", "export"):
            raise ImportError(f"the serving stack imported {name}")
sys.meta_path.insert(0, NoTorch())
import importlib.util, pkgutil, service, inputs, jpegdct, loadtest
OPTIONAL = {"service.ray_serve": "ray"}  # modules of an optional extra: imported where it is installed
for pkg in (service, inputs, jpegdct, loadtest):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if m.name.endswith(".__main__"):  # importing __main__ would start the program
            continue
        if m.name in OPTIONAL and importlib.util.find_spec(OPTIONAL[m.name]) is None:
            continue
        __import__(m.name)
from fastapi.testclient import TestClient
from service.app import create_app
from service.settings import Settings
with TestClient(create_app(Settings(MODEL_DIR=sys.argv[1], DEVICE="cpu"))) as client:
    assert client.get("/readyz").status_code == 200
    for name in ("tiny-dct", "tiny-rgb", "tiny-drnet"):
        r = client.post(f"/v1/models/{name}/classify", content=open(sys.argv[2], "rb").read(),
                        headers={"content-type": "image/jpeg"})
        assert r.status_code == 200, r.text
print("served without torch")
"""


def test_serving_stack_answers_with_torch_import_blocked(model_dir: Path, tmp_path: Path) -> None:
    from tests.support.jpegs import jpeg

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg(size=(96, 80)))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(model_dir), str(photo)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "served without torch" in done.stdout


def test_service_sources_never_import_the_torch_side() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "service").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if line.lstrip().startswith(("from models", "import models", "from export", "import export", "import torch"))
    ]
    assert not offenders


def test_every_kind_has_a_handler() -> None:
    assert set(HANDLERS) == set(KINDS)
