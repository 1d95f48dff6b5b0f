from pathlib import Path

import pytest

from export.triton import config_pbtxt, parse_config, write_triton_repo
from inputs.kinds import graph_specs


def dct_grid(model: object) -> tuple[int, int]:
    """The luma grid of the model's first graph that takes one (the top path of a DCT-domain DRNet)."""
    luma = next(t for s in graph_specs(model.contract).values() for t in s.inputs if t.name == "luma")
    return luma.shape[-2], luma.shape[-1]


def test_triton_repo_configs_parse_with_tritons_schema(exported: tuple, tmp_path: Path) -> None:
    name, model, paths = exported
    configs = write_triton_repo(paths, name, tmp_path / "triton")
    for cfg in configs:
        parsed = parse_config(cfg.read_text())
        assert parsed.platform == "onnxruntime_onnx"
        assert parsed.max_batch_size == 64
        assert parsed.dynamic_batching.max_queue_delay_microseconds > 0
        assert (cfg.parent / "1" / "model.onnx").is_file()
    parsed = [parse_config(c.read_text()) for c in configs]
    dct = [p for p in parsed if p.input[0].name == "luma"]
    contract = model.contract
    if contract.preset is not None:  # the classifier, or the DCT-domain DRNet's top path (its predictor comes first)
        preset, (gh, gw) = contract.channel_preset, dct_grid(model)
        assert [(i.name, list(i.dims)) for i in dct[0].input][:2] == [
            ("luma", [len(preset.luma), gh, gw]),
            ("chroma", [2 * len(preset.chroma), gh // 2, gw // 2]),
        ]
    else:
        assert not dct


def test_triton_parser_rejects_unknown_fields(exported: tuple) -> None:
    from google.protobuf import text_format

    _, _, paths = exported
    text = config_pbtxt("m", paths[0])
    with pytest.raises(text_format.ParseError):
        parse_config(text + "\nnot_a_field: 3\n")
