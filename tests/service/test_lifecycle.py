"""Start-up and readiness: models load once or the service refuses to start, naming the file and the problem."""

import shutil
from pathlib import Path

import httpx
import numpy as np
import onnx
import pytest
from pydantic import ValidationError

import service.main
from inputs.kinds import graph_specs
from service.app import create_app
from service.runtime import CPU, CUDA, ModelLoadError, OrtGraph
from service.settings import Settings
from tests.support.app import make_settings, serve
from tests.support.jpegs import make_jpeg
from tests.support.onnx_models import DCT, DRNET, RGB, rgb_classifier

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio


def one_model(tmp_path: Path, name: str, model: onnx.ModelProto, file: str = "model.onnx") -> Path:
    (tmp_path / name).mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(tmp_path / name / file))
    return tmp_path


async def start_error(model_dir: Path) -> str:
    app = create_app(make_settings(model_dir))
    with pytest.raises(ModelLoadError) as e:
        async with app.router.lifespan_context(app):
            pass
    return str(e.value)


async def test_readiness_before_during_and_after(model_dir: Path) -> None:
    app = create_app(make_settings(model_dir))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        before = await client.get("/readyz")
        assert (before.status_code, before.json()) == (503, {"detail": "not ready: models are still loading"})
        assert (await client.get("/healthz")).status_code == 200
        async with app.router.lifespan_context(app):
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {
                "status": "ready",
                "models": {name: CPU for name in ("tiny-dct", "tiny-drnet", "tiny-rgb")},
            }
        after = await client.get("/readyz")
        assert (after.status_code, after.json()) == (503, {"detail": "not ready: shutting down"})


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider' is not in available")
async def test_not_ready_when_the_runtime_silently_falls_back_to_cpu(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What onnxruntime-gpu does without a usable GPU: asked for CUDA, it quietly runs on the CPU.
    monkeypatch.setattr("service.state.intended_provider", lambda device: CUDA)
    async with serve(make_settings(model_dir)) as (_, client):
        r = await client.get("/readyz")
        assert r.status_code == 503
        detail = r.json()["detail"]
        assert detail.startswith(
            "not ready: model 'tiny-dct': model.onnx runs on CPUExecutionProvider, intended CUDAExecutionProvider; "
        )
        assert "model 'tiny-drnet': path_32.onnx runs on CPUExecutionProvider" in detail
        models = (await client.get("/v1/models")).json()["models"]
        assert {m["provider"] for m in models} == {CPU}
        assert 'freqserve_model_ready{model="tiny-dct"} 0.0' in (await client.get("/metrics")).text


async def test_device_cuda_without_cuda_provider_fails_at_start_up(model_dir: Path) -> None:
    app = create_app(make_settings(model_dir, DEVICE="cuda"))
    with pytest.raises(ModelLoadError, match=r"^FREQSERVE_DEVICE=cuda but this onnxruntime build has no CUDA"):
        async with app.router.lifespan_context(app):
            pass


async def test_corrupt_model_file_fails_start_up_naming_it(tmp_path: Path, model_dir: Path) -> None:
    shutil.copytree(model_dir, tmp_path, dirs_exist_ok=True)
    bad = tmp_path / "tiny-rgb" / "model.onnx"
    bad.write_bytes(bad.read_bytes()[:200])
    msg = await start_error(tmp_path)
    assert msg.startswith(f"cannot load ONNX model {bad}: ")


async def test_missing_metadata_fails_start_up(tmp_path: Path) -> None:
    model = rgb_classifier(RGB, "x", RGB.size)
    del model.metadata_props[:]
    msg = await start_error(one_model(tmp_path, "x", model))
    assert msg == f"{tmp_path}/x/model.onnx: no 'freqserve.contract' metadata; export it with export/"


async def test_input_that_breaks_the_contract_fails_start_up(tmp_path: Path) -> None:
    model = rgb_classifier(RGB, "x", 24)  # 24x24 graph under a contract that says 32x32
    msg = await start_error(one_model(tmp_path, "x", model))
    assert msg == (
        f"{tmp_path}/x/model.onnx: input 'image' is tensor(uint8) ['N', 24, 24, 3], "
        "expected tensor(uint8) [N, 32, 32, 3]"
    )


async def test_drnet_without_a_path_fails_start_up(tmp_path: Path, model_dir: Path) -> None:
    shutil.copytree(model_dir / "tiny-drnet", tmp_path / "d")
    (tmp_path / "d" / "path_32.onnx").unlink()
    msg = await start_error(tmp_path)
    assert msg == f"{tmp_path}/d: path files for resolutions [48], the contract lists [32, 48]"


async def test_empty_model_dir_fails_start_up(tmp_path: Path) -> None:
    msg = await start_error(tmp_path)
    assert msg.startswith(f"no models in {tmp_path}: expected <name>/model.onnx")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FREQSERVE_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv("FREQSERVE_PORT", "9123")
    monkeypatch.setenv("FREQSERVE_DEVICE", "cpu")
    monkeypatch.setenv("FREQSERVE_API_KEY", "k")
    s = Settings()
    assert (s.HOST, s.PORT, s.MODEL_DIR, s.DEVICE, s.API_KEY.get_secret_value()) == (
        "127.0.0.1",
        9123,
        tmp_path,
        "cpu",
        "k",
    )
    monkeypatch.setenv("FREQSERVE_DEVICE", "tpu")
    with pytest.raises(ValidationError, match="DEVICE"):
        Settings()
    monkeypatch.setenv("FREQSERVE_DEVICE", "auto")
    monkeypatch.setenv("FREQSERVE_MODEL_DIR", str(tmp_path / "nope"))
    with pytest.raises(ValidationError, match="is not a directory"):
        Settings()


def test_iobinding_path_gives_the_same_logits(model_dir: Path) -> None:
    path = model_dir / "tiny-dct" / "model.onnx"
    plain, bound = OrtGraph(path, CPU, 1), OrtGraph(path, CPU, 1, use_iobinding=True)
    rng = np.random.default_rng(0)
    feeds = {
        "luma": rng.integers(-50, 50, (3, 16, 16, 16), dtype=np.int16),
        "chroma": rng.integers(-50, 50, (3, 8, 8, 8), dtype=np.int16),
        "luma_q": rng.uniform(1, 10, (3, 16)).astype(np.float32),
        "chroma_q": rng.uniform(1, 10, (3, 8)).astype(np.float32),
    }
    np.testing.assert_allclose(plain.run(feeds)["logits"], bound.run(feeds)["logits"], rtol=1e-6)


def test_fixtures_match_the_kind_table_and_the_documented_interfaces(model_dir: Path) -> None:
    """Every ONNX file the service tests serve takes exactly the tensors ``inputs.kinds`` lists for its
    contract, and inputs/README.md documents each of them with its type."""
    doc = (REPO / "inputs" / "README.md").read_text()
    onnx_types = {np.dtype(np.int16): "int16", np.dtype(np.float32): "float32", np.dtype(np.uint8): "uint8"}
    for name, contract in {"tiny-dct": DCT, "tiny-rgb": RGB, "tiny-drnet": DRNET}.items():
        for key, spec in graph_specs(contract).items():
            graph = onnx.load(str(model_dir / name / key.file_name)).graph
            got = {
                i.name: (
                    onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type),
                    [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim],
                )
                for i in graph.input
            }
            want = {t.name: (t.dtype, ["N", *t.shape]) for t in spec.inputs}
            assert got == want, (name, key)
            assert [o.name for o in graph.output] == [spec.output]
            for t in spec.inputs:
                assert f"`{t.name}` {onnx_types[t.dtype]} [N, " in doc, f"{t.name} undocumented"


def test_keepalive_outlasts_load_balancer_idle_timeouts_and_reaches_uvicorn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FREQSERVE_MODEL_DIR", str(tmp_path))
    assert Settings().KEEPALIVE_S == 75.0
    monkeypatch.setenv("FREQSERVE_KEEPALIVE_S", "120")
    seen: dict[str, object] = {}
    monkeypatch.setattr(service.main.uvicorn, "run", lambda app, **kw: seen.update(kw))
    service.main.main()
    assert seen["timeout_keep_alive"] == 120.0


async def test_every_graph_is_opened_and_run_through_the_given_opener(model_dir: Path) -> None:
    # The seam Ray's split layout uses (service.ray_serve.RemoteGraph): the service opens no session itself.
    opened: list[Path] = []
    runs: list[int] = []

    class Counting(OrtGraph):
        def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            runs.append(len(next(iter(feeds.values()))))
            return super().run(feeds)

    def open_graph(path: Path, intended: str, threads: int) -> OrtGraph:
        opened.append(path)
        return Counting(path, intended, threads)

    async with serve(make_settings(model_dir), open_graph) as (app, client):
        assert sorted(opened) == sorted(model_dir.glob("*/*.onnx"))
        before = len(runs)
        r = await client.post(
            "/v1/models/tiny-dct/classify", content=make_jpeg(64, 48, seed=1), headers={"content-type": "image/jpeg"}
        )
        assert r.status_code == 200 and len(runs) == before + 1
