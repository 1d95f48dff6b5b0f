"""Checkpoints carry the registry name, factory kwargs and the (statistics-filled) input contract."""

from pathlib import Path
from typing import Any

import torch
from torch import nn

from inputs.contract import InputContract
from models.registry import create_model


def save_model(
    path: str | Path, name: str, kwargs: dict[str, Any], model: nn.Module, extra: dict | None = None
) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "model": name,
            "kwargs": kwargs,
            "contract": model.contract.to_json(),
            "state_dict": model.state_dict(),
            **(extra or {}),
        },
        path,
    )


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = create_model(ckpt["model"], **ckpt["kwargs"])
    # float16 (compact) checkpoints load into the float32 model: copy_ converts the dtype.
    model.load_state_dict(ckpt["state_dict"])
    model.contract = InputContract.from_json(ckpt["contract"])
    model.eval()
    return model, ckpt


def compact_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Weights-only copy with floating tensors stored as float16 (half the bytes; loads back as float32).

    The bundled ONNX files are exported from this compact checkpoint, so anyone can re-export them exactly.
    """
    ckpt = torch.load(src, map_location="cpu", weights_only=False)
    state = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    metrics = ckpt.get("metrics", {})
    out = {
        "model": ckpt["model"],
        "kwargs": ckpt["kwargs"],
        "contract": ckpt["contract"],
        "state_dict": state,
        "metrics": {
            k: metrics[k]
            for k in (
                "args",
                "epochs",
                "train_seconds",
                "final",
                "path_gflops",
                "classifier_seconds",
                "predictor_seconds",
                "init_train_seconds",
            )
            if k in metrics
        },
    }
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, dst)
    return Path(dst)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a compact (float16, weights-only) copy of a checkpoint.")
    parser.add_argument("src")
    parser.add_argument("dst")
    a = parser.parse_args()
    print(compact_checkpoint(a.src, a.dst))
