"""Smoke training runs on the tiny dataset (two steps of one epoch), for the tests that need a checkpoint."""

from pathlib import Path

from models.train.cli import main

TINY = '{"widths": [8, 8, 16, 16], "depths": [1, 1, 1, 1]'


def train(tmp_path: Path, data: Path, model: str, kwargs: str, *extra: str) -> Path:
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
