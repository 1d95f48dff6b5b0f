"""Find the models in FREQSERVE_MODEL_DIR, read their ``freqserve.*`` metadata, open their sessions.

Layout (docs_interfaces.md): ``<dir>/<name>/model.onnx`` (kind dct or rgb), or ``<dir>/<name>/predictor.onnx``
plus one ``path_<R>.onnx`` per resolution (kind drnet). Anything that does not match its contract is a
start-up error naming the file, never a surprise at the first request.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from models.contract import InputContract
from service.runtime import ModelLoadError, OrtGraph

log = logging.getLogger("freqserve.registry")

_PATH_FILE = re.compile(r"^path_(\d+)\.onnx$")


@dataclass(frozen=True)
class ModelFiles:
    name: str
    folder: Path
    files: dict[str, Path]  # graph key ("classifier", "predictor", "path_<R>") -> file


@dataclass
class LoadedModel:
    name: str
    contract: InputContract
    graphs: dict[str, OrtGraph]
    gflops: dict[str, float]

    @property
    def kind(self) -> str:
        return self.contract.kind


def discover(model_dir: Path) -> list[ModelFiles]:
    found = []
    for folder in sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        if (folder / "model.onnx").is_file():
            found.append(ModelFiles(folder.name, folder, {"classifier": folder / "model.onnx"}))
        elif (folder / "predictor.onnx").is_file():
            files = {"predictor": folder / "predictor.onnx"}
            for f in sorted(folder.iterdir()):
                if m := _PATH_FILE.match(f.name):
                    files[f"path_{int(m.group(1))}"] = f
            found.append(ModelFiles(folder.name, folder, files))
        else:
            log.warning("skipping %s: no model.onnx or predictor.onnx in it", folder)
    if not found:
        raise ModelLoadError(
            f"no models in {model_dir}: expected <name>/model.onnx, or <name>/predictor.onnx with <name>/path_<R>.onnx"
        )
    return found


def expected_inputs(contract: InputContract, key: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Input name -> (ONNX type, per-sample shape) that a graph must take under ``contract``."""
    if key == "classifier" and contract.kind == "dct":
        p = contract.channel_preset
        (gh, gw), (ch, cw) = contract.grid, contract.chroma_grid
        return {
            "luma": ("tensor(int16)", (len(p.luma), gh, gw)),
            "chroma": ("tensor(int16)", (2 * len(p.chroma), ch, cw)),
            "luma_q": ("tensor(float)", (len(p.luma),)),
            "chroma_q": ("tensor(float)", (2 * len(p.chroma),)),
        }
    if key == "classifier" and contract.kind == "rgb":
        return {"image": ("tensor(uint8)", (contract.size, contract.size, 3))}
    if key == "predictor":
        return {"thumbnail": ("tensor(float)", (3, contract.thumbnail, contract.thumbnail))}
    r = int(key.removeprefix("path_"))
    return {"image": ("tensor(uint8)", (r, r, 3))}


def _check_io(graph: OrtGraph, contract: InputContract, key: str) -> None:
    want = expected_inputs(contract, key)
    got = {i.name: i for i in graph.inputs}
    if set(got) != set(want):
        raise ModelLoadError(
            f"{graph.path}: inputs are {sorted(got)}, the {contract.kind} contract wants {sorted(want)}"
        )
    for name, (dtype, shape) in want.items():
        spec = got[name]
        dims = spec.shape[1:]
        if (
            spec.dtype != dtype
            or len(dims) != len(shape)
            or any(isinstance(d, int) and d != s for d, s in zip(dims, shape, strict=True))
        ):
            raise ModelLoadError(
                f"{graph.path}: input {name!r} is {spec.dtype} {list(spec.shape)}, "
                f"expected {dtype} [N, {', '.join(map(str, shape))}]"
            )
    output, width = (
        ("resolution_logits", len(contract.resolutions)) if key == "predictor" else ("logits", contract.num_classes)
    )
    if output not in graph.outputs:
        raise ModelLoadError(f"{graph.path}: no output {output!r} (outputs: {list(graph.outputs)})")
    shape = graph.output_shapes[output]
    if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != width):
        raise ModelLoadError(f"{graph.path}: output {output!r} is {list(shape)}, expected [N, {width}]")


def _contract_of(graph: OrtGraph) -> InputContract:
    text = graph.metadata.get("freqserve.contract")
    if text is None:
        raise ModelLoadError(f"{graph.path}: no 'freqserve.contract' metadata; export it with export/")
    try:
        return InputContract.from_json(text)
    except (ValueError, TypeError) as e:
        raise ModelLoadError(f"{graph.path}: unreadable 'freqserve.contract' metadata: {e}") from e


def load_model(files: ModelFiles, intended: str, intra_op_threads: int) -> LoadedModel:
    graphs = {key: OrtGraph(path, intended, intra_op_threads) for key, path in files.files.items()}
    contracts = {key: _contract_of(g) for key, g in graphs.items()}
    first_key = next(iter(graphs))
    contract = contracts[first_key]
    gflops: dict[str, float] = {}
    for key, graph in graphs.items():
        md = graph.metadata
        if contracts[key] != contract:
            raise ModelLoadError(f"{graph.path}: its contract differs from {graphs[first_key].path}'s")
        role = "path" if key.startswith("path_") else key
        if md.get("freqserve.role", role) != role:
            raise ModelLoadError(f"{graph.path}: freqserve.role is {md['freqserve.role']!r}, expected {role!r}")
        if role == "path" and md.get("freqserve.resolution", key[5:]) != key[5:]:
            raise ModelLoadError(
                f"{graph.path}: freqserve.resolution is {md['freqserve.resolution']!r} but the file name says {key[5:]}"
            )
        if md.get("freqserve.name", files.name) != files.name:
            log.warning(
                "%s: freqserve.name is %r; serving it as %r (its folder)", graph.path, md["freqserve.name"], files.name
            )
        if "freqserve.gflops" in md:
            try:
                gflops[key] = float(md["freqserve.gflops"])
            except ValueError:
                raise ModelLoadError(
                    f"{graph.path}: freqserve.gflops {md['freqserve.gflops']!r} is not a number"
                ) from None
        elif contract.kind == "drnet":
            raise ModelLoadError(f"{graph.path}: no 'freqserve.gflops' metadata (DRNet answers report the cost)")
        _check_io(graph, contract, key)
    if "classifier" in graphs and contract.kind not in ("dct", "rgb"):
        raise ModelLoadError(
            f"{files.folder}/model.onnx: contract kind {contract.kind!r}; model.onnx is for dct or rgb"
        )
    if "predictor" in graphs:
        if contract.kind != "drnet":
            raise ModelLoadError(f"{files.folder}/predictor.onnx: contract kind {contract.kind!r}, expected 'drnet'")
        have = sorted(int(k[5:]) for k in graphs if k.startswith("path_"))
        if have != sorted(contract.resolutions):
            raise ModelLoadError(
                f"{files.folder}: path files for resolutions {have}, the contract lists {list(contract.resolutions)}"
            )
    if len(contract.labels) != contract.num_classes:
        raise ModelLoadError(f"{files.folder}: {contract.num_classes} class ids but {len(contract.labels)} labels")
    return LoadedModel(files.name, contract, graphs, gflops)
