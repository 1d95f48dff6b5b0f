"""One table entry per model kind: its graphs, each graph's input tensors and output, and bytes -> inputs.

Training (``models``), export (``export``) and serving (``service``) all read this table; nobody re-types a
tensor name, dtype or shape, and nobody branches on a kind's name. A new kind is one entry here (and, in the
service, one handler).

- ``dct``: one ``classifier`` graph on the quantized coefficients of the contract's channel preset.
- ``rgb``: one ``classifier`` graph on uint8 NHWC pixels.
- ``drnet``: a ``predictor`` on the DC thumbnail, then one ``path`` graph per candidate resolution.
- ``dct_drnet``: the same predictor, then one DCT ``path`` per resolution: the native block grid and its
  exact DCT-domain downscales (no decode on any path).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from inputs.contract import InputContract
from inputs.dct import dct_input
from inputs.graphs import CLASSIFIER, PREDICTOR, Feeds, GraphKey, TensorSpec, path_key, tensor
from inputs.rgb import rgb_input
from inputs.thumbnail import thumbnail_input
from jpegdct import Limits
from jpegdct.reader import DEFAULT_LIMITS

Prepare = Callable[[bytes, Limits], Feeds]


@dataclass(frozen=True)
class GraphSpec:
    """One graph of a model: what it takes, what it returns, and how a JPEG becomes its inputs."""

    key: GraphKey
    inputs: tuple[TensorSpec, ...]
    output: str
    output_width: int
    prepare: Prepare  # (JPEG bytes, limits) -> feeds for one image, shapes as in ``inputs``

    @property
    def input_bytes(self) -> int:
        """Bytes handed to the runtime for one image."""
        return sum(t.nbytes for t in self.inputs)

    def zeros(self, batch: int) -> Feeds:
        return {t.name: t.zeros(batch) for t in self.inputs}


@dataclass(frozen=True)
class KindSpec:
    name: str
    graphs: Callable[[InputContract], tuple[GraphSpec, ...]]  # the first one is where every request starts


def _dct_feeds(data: bytes, limits: Limits, contract: InputContract) -> Feeds:
    return dct_input(data, contract, limits).feeds()


def _rgb_feeds(data: bytes, limits: Limits, size: int, resize_short: int) -> Feeds:
    return {"image": rgb_input(data, size, resize_short, limits)}


def _thumbnail_feeds(data: bytes, limits: Limits, size: int) -> Feeds:
    return {"thumbnail": thumbnail_input(data, size, limits)}


def dct_tensors(contract: InputContract) -> tuple[TensorSpec, ...]:
    p = contract.channel_preset
    (gh, gw), (ch, cw) = contract.grid, contract.chroma_grid
    return (
        tensor("luma", np.int16, len(p.luma), gh, gw),
        tensor("chroma", np.int16, 2 * len(p.chroma), ch, cw),  # Cb channels, then Cr channels
        tensor("luma_q", np.float32, len(p.luma)),
        tensor("chroma_q", np.float32, 2 * len(p.chroma)),
    )


def _image_graph(key: GraphKey, contract: InputContract, size: int, resize_short: int) -> GraphSpec:
    return GraphSpec(
        key,
        (tensor("image", np.uint8, size, size, 3),),
        "logits",
        contract.num_classes,
        partial(_rgb_feeds, size=size, resize_short=resize_short),
    )


def _dct_graphs(c: InputContract) -> tuple[GraphSpec, ...]:
    return (GraphSpec(CLASSIFIER, dct_tensors(c), "logits", c.num_classes, partial(_dct_feeds, contract=c)),)


def _rgb_graphs(c: InputContract) -> tuple[GraphSpec, ...]:
    return (_image_graph(CLASSIFIER, c, c.size, c.resize_short),)


def _predictor_graph(c: InputContract) -> GraphSpec:
    return GraphSpec(
        PREDICTOR,
        (tensor("thumbnail", np.float32, 3, c.thumbnail, c.thumbnail),),
        "resolution_logits",
        len(c.resolutions),
        partial(_thumbnail_feeds, size=c.thumbnail),
    )


def _drnet_graphs(c: InputContract) -> tuple[GraphSpec, ...]:
    paths = (_image_graph(path_key(r), c, r, c.resize_short_for(r)) for r in c.resolutions)
    return (_predictor_graph(c), *paths)


def _dct_path_graph(c: InputContract, resolution: int) -> GraphSpec:
    p = c.dct_path(resolution)
    return GraphSpec(path_key(resolution), dct_tensors(p), "logits", c.num_classes, partial(_dct_feeds, contract=p))


def _dct_drnet_graphs(c: InputContract) -> tuple[GraphSpec, ...]:
    return (_predictor_graph(c), *(_dct_path_graph(c, r) for r in c.resolutions))


KINDS: dict[str, KindSpec] = {
    k.name: k
    for k in (
        KindSpec("dct", _dct_graphs),
        KindSpec("rgb", _rgb_graphs),
        KindSpec("drnet", _drnet_graphs),
        KindSpec("dct_drnet", _dct_drnet_graphs),
    )
}


def kind_spec(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}; known: {sorted(KINDS)}") from None


def graph_specs(contract: InputContract) -> dict[GraphKey, GraphSpec]:
    """Every graph a model of this contract has, in order: the entry graph first."""
    return {g.key: g for g in kind_spec(contract.kind).graphs(contract)}


def entry_graph(contract: InputContract) -> GraphSpec:
    """The graph every request starts at (the classifier, or DRNet's predictor)."""
    return next(iter(graph_specs(contract).values()))


def prepare(contract: InputContract, key: GraphKey, data: bytes, limits: Limits = DEFAULT_LIMITS) -> Feeds:
    """JPEG bytes -> one image's inputs of graph ``key`` (what the server, training and parity all use)."""
    return graph_specs(contract)[key].prepare(data, limits)
