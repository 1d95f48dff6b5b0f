"""The learned channel gate: hard decisions, the sparsity penalty, and freezing its choice into a preset."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jpegdct.channels import PRESETS
from models.channel_gate import COMPONENTS, ChannelGate, channel_scores, select_preset
from models.train.loop import param_groups
from tests.support.tiny_models import batch_inputs, tiny


def test_gate_decisions_are_hard_in_training_and_deterministic_in_eval() -> None:
    torch.manual_seed(0)
    gate = ChannelGate(6, init_on=0.0)
    x = torch.ones(2, 6, 3, 3)
    gate.train()
    out = gate(x)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    with torch.no_grad():
        gate.logits[:, 1] = torch.tensor([5.0, -5.0, 5.0, -5.0, 5.0, -5.0])
    gate.eval()
    assert gate(x)[0, :, 0, 0].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def test_task_loss_and_sparsity_both_reach_the_gate() -> None:
    torch.manual_seed(0)
    model = tiny("dct192_gate", grid=(8, 8)).train()
    logits = model(*batch_inputs(model))
    task = F.cross_entropy(logits, torch.tensor([0, 1, 2]))
    (g_task,) = torch.autograd.grad(task, model.gate.logits, retain_graph=True)
    (g_sparse,) = torch.autograd.grad(model.auxiliary_loss(), model.gate.logits)
    assert g_task.abs().sum() > 0
    # The penalty only ever pushes "on" down: its gradient on each on-logit is positive.
    assert (g_sparse[:, 1] > 0).all() and (g_sparse[:, 0] < 0).all()


def test_gate_logits_get_their_own_learning_rate_and_no_decay() -> None:
    model = tiny("dct192_gate", grid=(8, 8), gate_lr_scale=20.0)
    groups = param_groups(model, weight_decay=0.05, lr=1e-3)
    gate = [g for g in groups if any(p is model.gate.logits for p in g["params"])]
    assert len(gate) == 1 and gate[0]["lr"] == pytest.approx(0.02) and gate[0]["weight_decay"] == 0.0
    rest = [p for g in groups if g is not gate[0] for p in g["params"]]
    assert all(p is not model.gate.logits for p in rest)


def test_channel_scores_lay_each_component_on_its_frequency_grid() -> None:
    model = tiny("dct192_gate", grid=(8, 8))
    with torch.no_grad():
        model.gate.logits.zero_()
        model.gate.logits[64 + 9, 1] = 10.0  # Cb, v=1, u=1
    scores = channel_scores(model)
    assert list(scores) == list(COMPONENTS)
    assert scores["Cb"][1, 1] > 0.99
    assert scores["Y"][1, 1] == pytest.approx(0.5) and scores["Cr"][1, 1] == pytest.approx(0.5)


def _scores(y: dict[int, float], c: dict[int, float]) -> dict[str, np.ndarray]:
    out = {k: np.zeros(64) for k in COMPONENTS}
    for i, v in y.items():
        out["Y"][i] = v
    for i, v in c.items():
        out["Cb"][i] = out["Cr"][i] = v
    return {k: v.reshape(8, 8) for k, v in out.items()}


def test_select_preset_takes_the_best_within_k_counting_chroma_twice() -> None:
    scores = _scores({0: 1.0, 1: 0.9, 2: 0.2, 63: 0.8}, {0: 0.95, 5: 0.85})
    p = select_preset(scores, 5, "mine")
    # Order of scores: Y0 1.0, C0 0.95 (2 slots), Y1 0.9, C5 0.85 (would make 6: skipped), Y63 0.8 -> 5 slots.
    assert (p.name, p.luma, p.chroma, p.num_channels) == ("mine", (0, 1, 63), (0,), 5)


def test_select_preset_breaks_ties_toward_low_frequencies() -> None:
    flat = {k: np.ones((8, 8)) for k in COMPONENTS}
    p = select_preset(flat, 6, "flat")
    assert p.luma == (0, 1) and p.chroma == (0, 1)


def test_select_preset_refuses_a_selection_without_luma_dc() -> None:
    with pytest.raises(ValueError, match="DC"):
        select_preset(_scores({5: 1.0, 6: 1.0}, {}), 2, "no-dc")


def test_the_learned_preset_is_a_named_preset() -> None:
    p = PRESETS["learned48"]
    assert p.num_channels == 48 and 0 in p.luma and 0 in p.chroma
