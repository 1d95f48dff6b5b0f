"""Print the serving requirements from pyproject.toml, one per line, for ``pip install -r``.

The image installs dependencies in a layer of their own, before the code is copied, so editing code does
not reinstall them; reading them from pyproject.toml keeps that layer from drifting from the package.
The ONNX Runtime requirement is swapped for the one the image needs (``onnxruntime-gpu`` on CUDA), because
installing both wheels into one environment lets them overwrite each other's files.

Usage: python requirements.py pyproject.toml [--extra serve] [--onnxruntime 'onnxruntime-gpu>=1.19,<1.27']
"""

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import tomllib

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_name(spec: str) -> str:
    """The normalized project name of a requirement specifier (PEP 503: lower case, runs of -_. as -)."""
    match = _NAME.match(spec)
    if match is None:
        raise ValueError(f"not a requirement specifier: {spec!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def serving_requirements(pyproject: dict, extras: Sequence[str], onnxruntime: str | None) -> list[str]:
    """Base dependencies plus the given extras, with ``onnxruntime`` replaced when asked."""
    project = pyproject["project"]
    optional = project.get("optional-dependencies", {})
    reqs = list(project.get("dependencies", []))
    for extra in extras:
        if extra not in optional:
            raise KeyError(f"pyproject.toml has no extra {extra!r}; it has: {', '.join(sorted(optional))}")
        reqs += optional[extra]
    if onnxruntime is not None:
        reqs = [r for r in reqs if requirement_name(r) not in ("onnxruntime", "onnxruntime-gpu")]
        reqs.append(onnxruntime)
    seen: set[str] = set()
    unique = []
    for r in reqs:
        if r not in seen:
            seen.add(r)
            unique.append(r)
    return unique


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("pyproject", type=Path)
    p.add_argument("--extra", action="append", default=None, help="optional-dependency group (default: serve)")
    p.add_argument("--onnxruntime", default=None, help="requirement that replaces onnxruntime")
    args = p.parse_args(argv)
    with args.pyproject.open("rb") as f:
        pyproject = tomllib.load(f)
    for req in serving_requirements(pyproject, args.extra or ["serve"], args.onnxruntime):
        print(req)
    return 0


if __name__ == "__main__":
    sys.exit(main())
