import json
import shlex
from pathlib import Path

import pytest
import torch

from models.checkpoint import load_model
from models.measure import train_seconds
from models.registry import create_model
from models.train.cli import build_parser
from tests.support.training import TINY
from tests.support.training import train as _train


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


def test_the_variant_script_commands_parse_and_build_their_models() -> None:
    """Every run in scripts/dct24_variants.sh (the MODEL_CARD table) names valid flags and a buildable model."""
    script = Path(__file__).parents[3] / "scripts" / "dct24_variants.sh"
    runs = [shlex.split(line)[1:] for line in script.read_text().splitlines() if line.startswith("run ")]
    assert len(runs) == 12
    for name, model, *flags in runs:
        args = build_parser().parse_args(["--model", model, "--data", "d", "--out", f"runs/{name}", *flags])
        create_model(args.model, **args.model_kwargs)


def test_octave_and_dynopool_train_and_report_their_structure(tmp_path: Path, tiny_dataset: Path) -> None:
    from models.evaluate import evaluate

    cache = tmp_path / "cache"
    octave = _train(tmp_path, tiny_dataset, "octave_dct_resnet", TINY + ', "grid": [16, 16], "alpha": 0.25}')
    assert evaluate(octave / "final.pt", tiny_dataset, cache)["alpha"] == 0.25
    kw = TINY + ', "grid": [8, 8], "budget": 0.3, "penalty": 10.0, "chroma_merge": "late"}'
    pooled = _train(tmp_path, tiny_dataset, "dynopool_dct_resnet", kw, "--lr", "0.05")
    model, _ = load_model(pooled / "final.pt")
    start = create_model("dynopool_dct_resnet", num_classes=3, widths=[8, 8, 16, 16], depths=[1, 1, 1, 1], grid=[8, 8])
    # Over budget from the first step: the penalty moved every ratio down.
    assert all((p.ratios() < q.ratios()).all() for p, q in zip(model.pools, start.pools, strict=True))
    report = evaluate(pooled / "final.pt", tiny_dataset, cache)
    assert report["learned_sizes"] == model.learned_sizes() and report["cost_fraction"] < 1.0


def test_init_from_starts_a_classifier_from_trained_weights_and_refuses_another_kind(
    tmp_path: Path, tiny_dataset: Path
) -> None:
    kwargs = TINY + ', "grid": [8, 8]}'
    first = _train(tmp_path, tiny_dataset, "dct24_resnet", kwargs)
    # lr 0: the steps change no weight, so the fine-tuned model holds exactly what it started from
    tuned = _train(tmp_path / "tuned", tiny_dataset, "dct24_resnet", kwargs, "--init-from", str(first / "final.pt"),
                   "--lr", "0")  # fmt: skip
    fresh = _train(tmp_path / "fresh", tiny_dataset, "dct24_resnet", kwargs, "--lr", "0")
    src, got, rand = (load_model(p / "final.pt")[0].state_dict() for p in (first, tuned, fresh))
    weights = [k for k, v in src.items() if v.is_floating_point() and v.dim() == 4]
    assert weights
    for k in weights:
        torch.testing.assert_close(got[k], src[k])
    assert any(not torch.equal(rand[k], src[k]) for k in weights)
    # its training time counts the run it started from
    first_metrics, tuned_metrics = (json.loads((p / "metrics.json").read_text()) for p in (first, tuned))
    assert tuned_metrics["init_train_seconds"] == pytest.approx(train_seconds(first_metrics))
    assert train_seconds(tuned_metrics) == pytest.approx(
        train_seconds(first_metrics) + train_seconds({"epochs": tuned_metrics["epochs"]})
    )

    rgb = TINY + ', "size": 64, "resize_short": 80}'
    with pytest.raises(ValueError, match="cannot start"):
        _train(tmp_path / "rgb", tiny_dataset, "rgb_resnet", rgb, "--init-from", str(first / "final.pt"))
