"""Find the models in FREQSERVE_MODEL_DIR, read their ``freqserve.*`` metadata, open their sessions.

Layout (inputs/README.md): ``<dir>/<name>/`` holds one ONNX file per graph of the model's kind, named by its
``GraphKey`` (``model.onnx``; or ``predictor.onnx`` plus ``path_<R>.onnx``). Anything that does not match its
contract (``inputs.kinds``) is a start-up error naming the file, never a surprise at the first request.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from inputs.contract import InputContract
from inputs.graphs import GraphKey
from inputs.kinds import GraphSpec, graph_specs
from inputs.metadata import GFLOPS, NAME, MetadataError, read_graph_metadata
from service.runtime import Graph, ModelLoadError, OpenGraph, OrtGraph

log = logging.getLogger("freqserve.registry")


@dataclass(frozen=True)
class ModelFiles:
    name: str
    folder: Path
    files: dict[GraphKey, Path]


@dataclass
class LoadedModel:
    name: str
    contract: InputContract
    graphs: dict[GraphKey, Graph]
    specs: dict[GraphKey, GraphSpec]
    gflops: dict[GraphKey, float]

    @property
    def kind(self) -> str:
        return self.contract.kind


def discover(model_dir: Path) -> list[ModelFiles]:
    found = []
    for folder in sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        files = {key: f for f in sorted(folder.iterdir()) if (key := GraphKey.from_file_name(f.name)) is not None}
        if any(key.role != "path" for key in files):
            found.append(ModelFiles(folder.name, folder, files))
        else:
            log.warning("skipping %s: no model.onnx or predictor.onnx in it", folder)
    if not found:
        raise ModelLoadError(
            f"no models in {model_dir}: expected <name>/model.onnx, or <name>/predictor.onnx with <name>/path_<R>.onnx"
        )
    return found


def _check_io(graph: Graph, spec: GraphSpec, kind: str) -> None:
    got = {i.name: i for i in graph.inputs}
    want = {t.name: t for t in spec.inputs}
    if set(got) != set(want):
        raise ModelLoadError(f"{graph.path}: inputs are {sorted(got)}, the {kind} contract wants {sorted(want)}")
    for name, t in want.items():
        dims = got[name].shape[1:]
        if (
            got[name].dtype != t.onnx_type
            or len(dims) != len(t.shape)
            or any(isinstance(d, int) and d != s for d, s in zip(dims, t.shape, strict=True))
        ):
            raise ModelLoadError(
                f"{graph.path}: input {name!r} is {got[name].dtype} {list(got[name].shape)}, "
                f"expected {t.onnx_type} [N, {', '.join(map(str, t.shape))}]"
            )
    if spec.output not in graph.outputs:
        raise ModelLoadError(f"{graph.path}: no output {spec.output!r} (outputs: {list(graph.outputs)})")
    shape = graph.output_shapes[spec.output]
    if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != spec.output_width):
        raise ModelLoadError(
            f"{graph.path}: output {spec.output!r} is {list(shape)}, expected [N, {spec.output_width}]"
        )


def _check_files(files: ModelFiles, contract: InputContract, specs: dict[GraphKey, GraphSpec]) -> None:
    """The folder holds exactly the graphs the kind's table lists for this contract."""
    have, want = set(files.files), set(specs)
    if have == want:
        return
    entry = next(iter(specs))
    if entry not in have:
        present = ", ".join(sorted(files.files[k].name for k in have if k.role != "path"))
        raise ModelLoadError(f"{files.folder}/{present}: contract kind {contract.kind!r} expects {entry.file_name}")
    paths = sorted(k.resolution for k in have if k.role == "path")
    wanted = sorted(k.resolution for k in want if k.role == "path")
    raise ModelLoadError(f"{files.folder}: path files for resolutions {paths}, the contract lists {wanted}")


def load_model(
    files: ModelFiles, intended: str, intra_op_threads: int, open_graph: OpenGraph = OrtGraph
) -> LoadedModel:
    graphs = {key: open_graph(path, intended, intra_op_threads) for key, path in files.files.items()}
    metas = {}
    for key, graph in graphs.items():
        try:
            metas[key] = read_graph_metadata(graph.metadata, key)
        except MetadataError as e:
            raise ModelLoadError(f"{graph.path}: {e}") from e
    first_key = next(iter(graphs))
    contract = metas[first_key].contract
    try:
        specs = graph_specs(contract)  # raises for a kind the table does not know
    except ValueError as e:
        raise ModelLoadError(f"{graphs[first_key].path}: {e}") from e
    _check_files(files, contract, specs)
    gflops: dict[GraphKey, float] = {}
    for key, graph in graphs.items():
        meta = metas[key]
        if meta.contract != contract:
            raise ModelLoadError(f"{graph.path}: its contract differs from {graphs[first_key].path}'s")
        if meta.name not in (None, files.name):
            log.warning("%s: %s is %r; serving it as %r (its folder)", graph.path, NAME, meta.name, files.name)
        if meta.gflops is not None:
            gflops[key] = meta.gflops
        elif len(specs) > 1:
            # Answers of a model with several graphs report what the graphs that ran cost.
            raise ModelLoadError(f"{graph.path}: no {GFLOPS!r} metadata (DRNet answers report the cost)")
        _check_io(graph, specs[key], contract.kind)
    if len(contract.labels) != contract.num_classes:
        raise ModelLoadError(f"{files.folder}: {contract.num_classes} class ids but {len(contract.labels)} labels")
    # Graphs in the table's order: the entry graph first.
    return LoadedModel(files.name, contract, {k: graphs[k] for k in specs}, specs, gflops)
