"""The per-kind table: graphs, tensors and preprocessing of every kind, read by serving, training, export."""

import numpy as np
import pytest

from inputs.contract import InputContract
from inputs.graphs import CLASSIFIER, PREDICTOR, path_key
from inputs.kinds import KINDS, entry_graph, graph_specs, kind_spec, prepare
from tests.support.jpegs import make_jpeg
from tests.support.onnx_models import DCT, DCT_DRNET, DRNET, RGB

CONTRACTS = {"dct": DCT, "rgb": RGB, "drnet": DRNET, "dct_drnet": DCT_DRNET}


def test_every_kind_has_a_test_contract() -> None:
    assert set(CONTRACTS) == set(KINDS)


def test_graphs_of_each_kind() -> None:
    assert list(graph_specs(DCT)) == [CLASSIFIER]
    assert list(graph_specs(RGB)) == [CLASSIFIER]
    assert list(graph_specs(DRNET)) == [PREDICTOR, *(path_key(r) for r in DRNET.resolutions)]


def test_dct_tensors_follow_the_preset_and_grid() -> None:
    spec = entry_graph(DCT)
    p = DCT.channel_preset
    shapes = {t.name: (t.dtype, t.shape) for t in spec.inputs}
    assert shapes == {
        "luma": (np.dtype(np.int16), (len(p.luma), 16, 16)),
        "chroma": (np.dtype(np.int16), (2 * len(p.chroma), 8, 8)),
        "luma_q": (np.dtype(np.float32), (len(p.luma),)),
        "chroma_q": (np.dtype(np.float32), (2 * len(p.chroma),)),
    }
    assert (spec.output, spec.output_width) == ("logits", DCT.num_classes)


def test_dct24_input_bytes_beat_rgb_224() -> None:
    c = InputContract(kind="dct", class_ids=("a",), labels=("a",), preset="dct24", grid=(32, 32))
    rgb = InputContract(kind="rgb", class_ids=("a",), labels=("a",), size=224)
    assert entry_graph(c).input_bytes == 2 * (16 * 32 * 32 + 8 * 16 * 16) + 4 * 24
    assert entry_graph(c).input_bytes < entry_graph(rgb).input_bytes == 224 * 224 * 3


def test_drnet_paths_keep_the_field_of_view() -> None:
    for r in DRNET.resolutions:
        spec = graph_specs(DRNET)[path_key(r)]
        assert [t.shape for t in spec.inputs] == [(r, r, 3)]
    assert graph_specs(DRNET)[PREDICTOR].output == "resolution_logits"
    assert graph_specs(DRNET)[PREDICTOR].output_width == len(DRNET.resolutions)


def test_dct_drnet_paths_are_dct_graphs_on_halved_grids() -> None:
    specs = graph_specs(DCT_DRNET)
    assert list(specs) == [PREDICTOR, path_key(128), path_key(64)]
    top, half = (DCT_DRNET.dct_path(r) for r in DCT_DRNET.resolutions)
    assert (top.kind, top.grid, top.source_short) == ("dct", (16, 16), 128)
    assert (half.kind, half.grid, half.source_short) == ("dct", (8, 8), 64)
    assert [t.shape for t in specs[path_key(64)].inputs] == [(16, 8, 8), (8, 4, 4), (16,), (8,)]


def test_dct_drnet_half_path_is_the_exact_2x_box_downscale_of_the_top_path() -> None:
    # A 128 px photo: the top path reads its own 16x16 blocks; the half path its 2x DCT-domain downscale.
    data = make_jpeg(128, 128, seed=2)
    top = prepare(DCT_DRNET, path_key(128), data)
    half = prepare(DCT_DRNET, path_key(64), data)
    dc_top = top["luma"][0].astype(np.float64) * top["luma_q"][0]
    # The downscaled block's DC is the mean of its 2x2 source blocks' DCs (orthonormal DCT, box filter).
    expected = dc_top.reshape(8, 2, 8, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(half["luma"][0] * half["luma_q"][0], expected, atol=1.0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_prepare_returns_exactly_the_listed_tensors(kind: str) -> None:
    contract = CONTRACTS[kind]
    data = make_jpeg(120, 90, seed=4)
    for key, spec in graph_specs(contract).items():
        feeds = prepare(contract, key, data)
        assert set(feeds) == {t.name for t in spec.inputs}
        for t in spec.inputs:
            assert feeds[t.name].dtype == t.dtype and feeds[t.name].shape == t.shape, (key, t.name)
        assert sum(a.nbytes for a in feeds.values()) == spec.input_bytes
        zeros = spec.zeros(3)
        assert {k: v.shape for k, v in zeros.items()} == {t.name: (3, *t.shape) for t in spec.inputs}


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown model kind 'octave'; known: \['dct', 'dct_drnet', 'drnet', 'rgb'\]"):
        kind_spec("octave")
