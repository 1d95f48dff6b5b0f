"""Checkpoints carry the registry name, factory kwargs and the (statistics-filled) input contract."""

from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.contract import InputContract
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
    model.load_state_dict(ckpt["state_dict"])
    model.contract = InputContract.from_json(ckpt["contract"])
    model.eval()
    return model, ckpt
