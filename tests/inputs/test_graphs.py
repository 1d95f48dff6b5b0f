import numpy as np
import pytest

from inputs.graphs import CLASSIFIER, PREDICTOR, GraphKey, path_key, tensor


@pytest.mark.parametrize(
    ("key", "text", "file_name"),
    [
        (CLASSIFIER, "classifier", "model.onnx"),
        (PREDICTOR, "predictor", "predictor.onnx"),
        (path_key(160), "path_160", "path_160.onnx"),
    ],
)
def test_keys_round_trip_through_text_and_file_names(key: GraphKey, text: str, file_name: str) -> None:
    assert str(key) == text and key.file_name == file_name
    assert GraphKey.parse(text) == key
    assert GraphKey.from_file_name(file_name) == key


@pytest.mark.parametrize("name", ["notes.txt", "path_.onnx", "path_12a.onnx", "model.onnx.bak", "classifier.onnx"])
def test_other_files_are_no_graph(name: str) -> None:
    assert GraphKey.from_file_name(name) is None


def test_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="needs resolution"):
        GraphKey("path")
    with pytest.raises(ValueError, match="takes no resolution"):
        GraphKey("classifier", 224)
    with pytest.raises(ValueError, match="unknown graph role"):
        GraphKey("decoder")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a graph key"):
        GraphKey.parse("path_x")


def test_keys_sort_and_hash() -> None:
    assert len({path_key(128), path_key(128), CLASSIFIER}) == 2


def test_tensor_spec_types_and_bytes() -> None:
    t = tensor("luma", np.int16, 16, 4, 4)
    assert t.onnx_type == "tensor(int16)" and t.nbytes == 16 * 4 * 4 * 2
    assert t.zeros(3).shape == (3, 16, 4, 4) and t.zeros(3).dtype == np.int16
    assert tensor("image", np.uint8, 8, 8, 3).onnx_type == "tensor(uint8)"
    assert tensor("q", np.float32, 5).onnx_type == "tensor(float)"
