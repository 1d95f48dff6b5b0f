from pathlib import Path

import torch

from models.checkpoint import compact_checkpoint, load_model
from tests.support.training import TINY, train


def test_compact_checkpoint_halves_floats_and_loads_back_as_float32(tmp_path: Path, tiny_dataset: Path) -> None:
    out = train(tmp_path, tiny_dataset, "dct24_resnet", TINY + ', "grid": [8, 8]}')
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
