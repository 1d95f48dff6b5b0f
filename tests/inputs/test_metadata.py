import pytest

from inputs.graphs import CLASSIFIER, path_key
from inputs.metadata import CONTRACT, GFLOPS, RESOLUTION, ROLE, MetadataError, graph_metadata, read_graph_metadata
from tests.support.onnx_models import DCT, DRNET


def test_written_metadata_reads_back() -> None:
    md = graph_metadata(DRNET, "tiny-drnet", path_key(32), 0.1234567)
    assert md[ROLE] == "path" and md[RESOLUTION] == "32" and md[GFLOPS] == "0.123457"
    meta = read_graph_metadata(md, path_key(32))
    assert (meta.contract, meta.name, meta.gflops) == (DRNET, "tiny-drnet", 0.123457)


def test_classifier_metadata_has_no_resolution() -> None:
    assert RESOLUTION not in graph_metadata(DCT, "x", CLASSIFIER, 1.0)


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({CONTRACT: None}, CLASSIFIER, "no 'freqserve.contract' metadata"),
        ({CONTRACT: "{not json"}, CLASSIFIER, "unreadable 'freqserve.contract' metadata"),
        ({ROLE: "predictor"}, CLASSIFIER, "freqserve.role is 'predictor', expected 'classifier'"),
        ({RESOLUTION: "64"}, path_key(32), "freqserve.resolution is '64' but the file name says 32"),
        ({GFLOPS: "lots"}, CLASSIFIER, "freqserve.gflops 'lots' is not a number"),
    ],
)
def test_bad_metadata_is_refused(change: dict, key, message: str) -> None:
    md = graph_metadata(DRNET if key.role == "path" else DCT, "m", key, 1.0)
    for k, v in change.items():
        if v is None:
            md.pop(k)
        else:
            md[k] = v
    with pytest.raises(MetadataError, match=message):
        read_graph_metadata(md, key)
