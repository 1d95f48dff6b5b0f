import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from jpegdct.channels import get_preset
from models.checkpoint import load_model
from models.data import scan_folder
from models.registry import create_model
from models.train import DctBatches, build_parser, chroma_offset, main, make_batches

TINY = '{"widths": [8, 8, 16, 16], "depths": [1, 1, 1, 1]'


def _train(tmp_path: Path, data: Path, model: str, kwargs: str, *extra: str) -> Path:
    out = tmp_path / model
    main(
        [
            "--model",
            model,
            "--data",
            str(data),
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--epochs",
            "1",
            "--max-steps",
            "2",
            "--batch-size",
            "4",
            "--val-fraction",
            "0.25",
            "--model-kwargs",
            kwargs,
            *extra,
        ]
    )
    return out


def test_two_step_smoke_runs_train_save_and_reload(tmp_path: Path, tiny_dataset: Path) -> None:
    out = _train(tmp_path, tiny_dataset, "dct24_resnet", TINY + ', "grid": [8, 8]}')
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"][0]["epoch"] == 1
    assert 0.0 <= metrics["epochs"][0]["val_top1"] <= 1.0
    model, _ = load_model(out / "final.pt")
    assert len(model.contract.mean) == 24 and all(s > 0 for s in model.contract.std)
    assert torch.allclose(model.mean.flatten(), torch.tensor(model.contract.mean))

    rgb = _train(tmp_path, tiny_dataset, "rgb_resnet", TINY + ', "size": 64, "resize_short": 80}')
    drnet = _train(
        tmp_path,
        tiny_dataset,
        "drnet_resnet",
        TINY + ', "resolutions": [64, 48, 32], "resize_short": 80, "thumbnail": 8}',
        "--init-from",
        str(rgb / "final.pt"),
        "--predictor-epochs",
        "2",
    )
    again = _train(
        tmp_path / "again",
        tiny_dataset,
        "drnet_resnet",
        TINY + ', "resolutions": [64, 48, 32], "resize_short": 80, "thumbnail": 8}',
        "--init-from",
        str(drnet / "final.pt"),
        "--predictor-epochs",
        "1",
        "--flops-target",
        "0.3",
    )
    first, second = load_model(drnet / "final.pt")[0], load_model(again / "final.pt")[0]
    torch.testing.assert_close(first.body.fc.weight, second.body.fc.weight)  # classifier kept as trained
    assert "epochs" not in json.loads((again / "metrics.json").read_text())
    dm = json.loads((drnet / "metrics.json").read_text())
    assert len(dm["path_gflops"]) == 3 and dm["path_gflops"][0] > dm["path_gflops"][2]
    assert 0.0 < dm["final"]["val_flops_ratio"] <= 1.0

    from models.evaluate import evaluate

    cache = tmp_path / "cache"
    report = evaluate(out / "final.pt", tiny_dataset, cache)
    assert report["val_images"] == 6 and 0.0 <= report["top1"] <= 1.0
    assert len(report["per_class_top1"]) == 3 and report["gflops"] > 0 and report["params"] > 0
    assert report["input_bytes"] == 2 * (16 * 64 + 8 * 16) + 4 * 24
    paired = evaluate(out / "final.pt", tiny_dataset, cache, against=drnet / "final.pt")["against"]
    n = report["val_images"]
    assert paired["top1"] == pytest.approx(evaluate(drnet / "final.pt", tiny_dataset, cache)["top1"])
    assert (paired["only_this_right"] - paired["only_other_right"]) / n == pytest.approx(
        report["top1"] - paired["top1"]
    )
    dr = evaluate(drnet / "final.pt", tiny_dataset, cache)
    assert set(dr["path_top1"]) == {"64", "48", "32"} and abs(sum(dr["choice_share"].values()) - 1.0) < 1e-9
    assert dr["path_gflops"]["32"] < dr["gflops"] <= dr["path_gflops"]["64"] + dr["predictor_gflops"] + 1e-9


def test_resume_continues_from_the_last_epoch(tmp_path: Path, tiny_dataset: Path) -> None:
    kw = TINY + ', "grid": [8, 8]}'
    out = _train(tmp_path, tiny_dataset, "dct24_resnet", kw, "--epochs", "2", "--stop-after", "1")
    first = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in first] == [1]
    _train(tmp_path, tiny_dataset, "dct24_resnet", kw, "--epochs", "2", "--resume")
    epochs = [e["epoch"] for e in json.loads((out / "metrics.json").read_text())["epochs"]]
    assert epochs == [1, 2]


def test_compact_checkpoint_halves_floats_and_loads_back_as_float32(tmp_path: Path, tiny_dataset: Path) -> None:
    from models.checkpoint import compact_checkpoint

    out = _train(tmp_path, tiny_dataset, "dct24_resnet", TINY + ', "grid": [8, 8]}')
    full, _ = load_model(out / "final.pt")
    small_path = compact_checkpoint(out / "final.pt", tmp_path / "small.pt")
    raw = torch.load(small_path, weights_only=False)
    assert all(v.dtype == torch.float16 for v in raw["state_dict"].values() if v.is_floating_point())
    small, _ = load_model(small_path)
    assert all(p.dtype == torch.float32 for p in small.parameters())
    assert small.contract == full.contract
    for a, b in zip(full.state_dict().values(), small.state_dict().values(), strict=True):
        if a.is_floating_point():
            torch.testing.assert_close(b, a.half().float())


def test_pixel_crops_train_and_keep_centre_crops_exact(tmp_path: Path, tiny_dataset: Path) -> None:
    out = _train(tmp_path, tiny_dataset, "dct24_resnet", TINY + ', "grid": [8, 8]}', "--dct-pixel-crops")
    assert json.loads((out / "metrics.json").read_text())["args"]["dct_pixel_crops"] is True
    model, _ = load_model(out / "final.pt")
    files = list(scan_folder(tiny_dataset).files)
    exact = make_batches(model, files, tmp_path / "cache")
    pixel = make_batches(model, files, tmp_path / "cache", dct_pixel_crops=True)
    idx = np.arange(0, 24, 4)
    for a, b in zip(exact.get(idx, None), pixel.get(idx, None), strict=True):
        assert torch.equal(a, b)  # statistics and validation never see a re-transformed crop
    rng = np.random.default_rng(0)
    y, c, yq, cq = pixel.get(idx, rng)
    assert y.shape == (6, 16, 8, 8) and c.shape == (6, 8, 4, 4) and y.dtype == c.dtype == torch.int16
    _, _, exact_yq, exact_cq = exact.get(idx, None)
    assert torch.equal(yq, exact_yq) and torch.equal(cq, exact_cq)  # the photo's own quantization steps
    assert not torch.equal(y, pixel.get(idx, rng)[0])  # crops move between draws


def _dct_arrays(n: int = 2, side: int = 40) -> dict[str, np.ndarray]:
    """Luma block (r, c) holds r*100 + c in every channel; chroma block (r, c) holds r*100 + c too."""
    r, c = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    cr, cc = np.meshgrid(np.arange(side // 2), np.arange(side // 2), indexing="ij")
    return {
        "luma": np.broadcast_to((r * 100 + c).astype(np.int16), (n, 16, side, side)).copy(),
        "chroma": np.broadcast_to((cr * 100 + cc).astype(np.int16), (n, 8, side // 2, side // 2)).copy(),
        "luma_q": np.ones((n, 16), np.float32),
        "chroma_q": np.ones((n, 8), np.float32),
    }


def test_chroma_offset_is_exact_for_even_and_adjacent_for_odd() -> None:
    rng = np.random.default_rng(0)
    assert [chroma_offset(o, rng) for o in (0, 2, 8)] == [0, 1, 4]
    assert {chroma_offset(3, rng) for _ in range(50)} == {1, 2}


@pytest.mark.parametrize("step", [1, 2])
def test_dct_random_crops_cover_the_margin_at_the_block_step(step: int) -> None:
    preset = get_preset("dct24")
    batches = DctBatches(_dct_arrays(), (preset.luma, preset.chroma), (32, 32), crop_step=step)
    rng = np.random.default_rng(0)
    tops = set()
    for _ in range(200):
        luma, chroma, _, _ = batches.get(np.array([0]), rng)
        assert luma.shape == (1, 16, 32, 32) and chroma.shape == (1, 8, 16, 16)
        corner = int(luma[0, 0, 0, 0])  # DC untouched by a flip's sign changes
        top = corner // 100
        tops.add(top)
        ctop = int(chroma[0, 0, 0, 0]) // 100
        assert ctop in ({top // 2} if top % 2 == 0 else {top // 2, top // 2 + 1})
    assert tops == set(range(0, 9, step))


def test_dct_centre_crop_is_aligned_and_deterministic() -> None:
    preset = get_preset("dct24")
    batches = DctBatches(_dct_arrays(), (preset.luma, preset.chroma), (32, 32))
    luma, chroma, _, _ = batches.get(np.array([0, 1]), None)
    assert int(luma[0, 0, 0, 0]) == 404 and int(chroma[0, 0, 0, 0]) == 202
    assert torch.equal(luma[0], luma[1])


def test_the_variant_script_commands_parse_and_build_their_models() -> None:
    """Every run in scripts/dct24_variants.sh (the MODEL_CARD table) names valid flags and a buildable model."""
    script = Path(__file__).parents[2] / "scripts" / "dct24_variants.sh"
    runs = [shlex.split(line)[1:] for line in script.read_text().splitlines() if line.startswith("run ")]
    assert len(runs) == 12
    for name, model, *flags in runs:
        args = build_parser().parse_args(["--model", model, "--data", "d", "--out", f"runs/{name}", *flags])
        create_model(args.model, **args.model_kwargs)
