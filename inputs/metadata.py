"""The ``freqserve.*`` metadata each ONNX file carries: written by ``export``, read by ``service`` (one module).

- ``freqserve.contract``: ``InputContract.to_json()``
- ``freqserve.name``: the served model name
- ``freqserve.role``: ``classifier`` | ``predictor`` | ``path``
- ``freqserve.resolution``: int, for role ``path``
- ``freqserve.gflops``: GFLOPs (multiply-accumulates) per image of this file's graph
"""

import json
from dataclasses import dataclass

from inputs.contract import InputContract
from inputs.graphs import GraphKey

CONTRACT = "freqserve.contract"
NAME = "freqserve.name"
ROLE = "freqserve.role"
RESOLUTION = "freqserve.resolution"
GFLOPS = "freqserve.gflops"


class MetadataError(ValueError):
    """A graph's ``freqserve.*`` metadata is missing or does not match where the file sits."""


def graph_metadata(contract: InputContract, name: str, key: GraphKey, gflops: float) -> dict[str, str]:
    meta = {CONTRACT: contract.to_json(), NAME: name, ROLE: key.role, GFLOPS: json.dumps(round(gflops, 6))}
    if key.resolution is not None:
        meta[RESOLUTION] = str(key.resolution)
    return meta


@dataclass(frozen=True)
class GraphMetadata:
    contract: InputContract
    name: str | None
    gflops: float | None


def read_graph_metadata(md: dict[str, str], key: GraphKey) -> GraphMetadata:
    """Parse and check one file's metadata against the graph key its file name gives. Raises MetadataError."""
    text = md.get(CONTRACT)
    if text is None:
        raise MetadataError(f"no {CONTRACT!r} metadata; export it with export/")
    try:
        contract = InputContract.from_json(text)
    except (ValueError, TypeError) as e:
        raise MetadataError(f"unreadable {CONTRACT!r} metadata: {e}") from e
    if md.get(ROLE, key.role) != key.role:
        raise MetadataError(f"{ROLE} is {md[ROLE]!r}, expected {key.role!r}")
    if key.resolution is not None and md.get(RESOLUTION, str(key.resolution)) != str(key.resolution):
        raise MetadataError(f"{RESOLUTION} is {md[RESOLUTION]!r} but the file name says {key.resolution}")
    gflops = None
    if GFLOPS in md:
        try:
            gflops = float(md[GFLOPS])
        except ValueError:
            raise MetadataError(f"{GFLOPS} {md[GFLOPS]!r} is not a number") from None
    return GraphMetadata(contract, md.get(NAME), gflops)
