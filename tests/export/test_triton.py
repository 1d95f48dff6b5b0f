from pathlib import Path

import pytest

from export.triton import config_pbtxt, parse_config, write_triton_repo


def test_triton_repo_configs_parse_with_tritons_schema(exported: tuple, tmp_path: Path) -> None:
    name, _, paths = exported
    configs = write_triton_repo(paths, name, tmp_path / "triton")
    for cfg in configs:
        parsed = parse_config(cfg.read_text())
        assert parsed.platform == "onnxruntime_onnx"
        assert parsed.max_batch_size == 64
        assert parsed.dynamic_batching.max_queue_delay_microseconds > 0
        assert (cfg.parent / "1" / "model.onnx").is_file()
    first = parse_config(configs[0].read_text())
    if name.startswith("dct"):
        assert [(i.name, list(i.dims)) for i in first.input][:2] == [("luma", [16, 8, 8]), ("chroma", [8, 4, 4])]


def test_triton_parser_rejects_unknown_fields(exported: tuple) -> None:
    from google.protobuf import text_format

    _, _, paths = exported
    text = config_pbtxt("m", paths[0])
    with pytest.raises(text_format.ParseError):
        parse_config(text + "\nnot_a_field: 3\n")
