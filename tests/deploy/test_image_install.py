"""Replay the builder stage's Python steps (RUNTIME=cpu) in a fresh venv, without a Docker engine.

The build context is assembled from the Dockerfile's own COPY instructions and .dockerignore, and the
builder's RUN lines are executed as written (with /opt/venv pointed at a temporary folder), so a file the
image forgets to copy, a dependency missing from the serve extra, or an accidental torch import fails
here. Needs pip to reach PyPI or a warm pip cache; about 15-30 s.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.support.dockerfile import DockerIgnore, parse, parse_copy, run_command, substitute

REPO = Path(__file__).resolve().parents[2]


def assemble_context(dest: Path) -> None:
    """Copy what the builder stage's COPY instructions would put under its WORKDIR into ``dest``."""
    df = parse((REPO / "Dockerfile").read_text())
    builder = df.stage("builder")
    assert [w.args for w in builder.all("WORKDIR")] == ["/src"]
    ignore = DockerIgnore.read(REPO / ".dockerignore")
    for instr in builder.all("COPY"):
        copy = parse_copy(instr)
        target = dest / copy.dest
        for src in copy.sources:
            path = REPO / src
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                rel = f.relative_to(REPO).as_posix()
                if ignore.ignored(rel):
                    continue
                # Docker: a file goes into a destination folder by name; a folder's *contents* are copied.
                out = target / f.name if path.is_file() else target / f.relative_to(path)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, out)


def builder_runs() -> tuple[list[str], dict[str, str]]:
    """The builder's RUN commands and the ENV it sets (RUNTIME=cpu)."""
    df = parse((REPO / "Dockerfile").read_text())
    env: dict[str, str] = {}
    for stage_name in ("buildenv-cpu", "builder"):
        for e in df.stage(stage_name).all("ENV"):
            for pair in e.args.split():
                key, _, value = pair.partition("=")
                env[key] = substitute(value, {**df.args, **env})
    return [run_command(r)[1] for r in df.stage("builder").all("RUN")], env


def test_pyproject_lists_every_subpackage_of_its_packages() -> None:
    # A non-editable install (the image's) ships only the packages listed; an unlisted sub-package such
    # as service.api exists in a checkout but is missing once installed.
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in listed
        if "." not in top
        for init in (REPO / top).rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"


@pytest.mark.slow
def test_builder_steps_install_a_torch_free_serving_venv(tmp_path: Path) -> None:
    src, venv = tmp_path / "src", tmp_path / "venv"
    assemble_context(src)
    runs, image_env = builder_runs()
    assert image_env["ORT_REQUIREMENT"].startswith("onnxruntime>=")
    env = {
        **os.environ,
        **{k: v for k, v in image_env.items() if k not in ("PATH", "VIRTUAL_ENV")},
        "VIRTUAL_ENV": str(venv),
        # The interpreter that would be the image's python3: this test's own base interpreter.
        "PATH": os.pathsep.join([str(venv / "bin"), str(tmp_path / "bin"), os.environ.get("PATH", "")]),
    }
    env.pop("PYTHONPATH", None)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    for run in runs:
        command = run.replace("/opt/venv", str(venv))
        done = subprocess.run(
            ["/bin/sh", "-c", command],  # what RUN uses
            cwd=src,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"RUN {command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    # What the runtime stage gets is the venv alone: it must work from anywhere, without the sources.
    shutil.rmtree(src)
    probe = (
        "import importlib.util, jpegdct, jpegdct._jpegdct, service.main, loadtest.cli, onnxruntime;"
        "from service.settings import Settings;"
        "assert importlib.util.find_spec('torch') is None, 'torch is installed';"
        "print(onnxruntime.get_available_providers())"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CPUExecutionProvider" in done.stdout
    # Outside a checkout there is no bundled/ beside the package: start-up says to set FREQSERVE_MODEL_DIR.
    bare = {k: v for k, v in os.environ.items() if not k.startswith("FREQSERVE_")}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "service"],
        cwd=tmp_path,
        env=bare,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "FREQSERVE_MODEL_DIR is not set and there is no bundled/ model directory" in done.stderr
    freeze = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True, timeout=120
    ).stdout.lower()
    # Package names only: the local "freqserve @ file:///tmp/pytest-of-.../src" line must not count as pytest.
    names = {line.split("==")[0].split(" @ ")[0].strip() for line in freeze.splitlines() if line.strip()}
    assert "onnxruntime" in names and "onnxruntime-gpu" not in names
    for unwanted in ("torch", "onnx", "pytest", "hypothesis"):
        assert unwanted not in names, f"{unwanted} in the runtime venv:\n{freeze}"
