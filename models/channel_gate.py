"""Learned frequency-channel selection (DCTNet, Xu et al. CVPR 2020, section 3.3).

A DCT ResNet on all 192 channels (64 per component) whose normalized input passes through a gate: each
channel has two logits (off, on); training samples a hard Gumbel-softmax decision per channel and batch
(straight-through), and a sparsity penalty on the mean probability of "on" above a budget (``keep``)
pushes the least useful channels off. DCTNet's
gate is conditioned on the image; this one is static (one decision per channel for every photo), because
its only product is a static selection: ``channel_scores`` ranks the channels and ``select_preset`` freezes
the top ``k`` into a named ``jpegdct.channels`` preset that a plain DCT model then trains and serves on.

The gated network itself is never served (its full 192-channel read is what the selection avoids).
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from jpegdct.channels import ChannelPreset
from models.dct_resnet import DCTResNet, dct_contract
from models.variants import register_model

COMPONENTS = ("Y", "Cb", "Cr")


class ChannelGate(nn.Module):
    """Static per-channel hard gate; ``logits[:, 1] - logits[:, 0]`` is each channel's score."""

    def __init__(self, num_channels: int, init_on: float = 3.0, tau: float = 1.0) -> None:
        super().__init__()
        # Start every channel firmly on: the body first learns from all of them, then the penalty prunes.
        self.logits = nn.Parameter(torch.stack([torch.zeros(num_channels), torch.full((num_channels,), init_on)], 1))
        self.tau = tau

    def prob_on(self) -> torch.Tensor:
        return self.logits.softmax(dim=1)[:, 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            on = F.gumbel_softmax(self.logits, tau=self.tau, hard=True)[:, 1]
        else:
            on = (self.logits[:, 1] > self.logits[:, 0]).float()
        return x * on.view(1, -1, 1, 1)


class GatedDCTResNet(DCTResNet):
    """``DCTResNet`` (chroma upsampled before the stem) with a ``ChannelGate`` on its normalized input."""

    def __init__(
        self, *args: Any, sparsity: float = 2.0, keep: float = 0.25, gate_lr_scale: float = 10.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.chroma_merge != "upsample":
            raise ValueError("the gate needs every channel on one grid: chroma_merge='upsample'")
        self.gate = ChannelGate(self.contract.channel_preset.num_channels)
        self.sparsity = sparsity
        self.keep = keep
        self.gate_lr_scale = gate_lr_scale

    def forward(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> torch.Tensor:
        x = (self.dequantize(luma, chroma, luma_q, chroma_q) - self.mean) / self.std
        return self.body(self.stem(self.gate(x)))

    def lr_scales(self) -> dict[str, float]:
        return {"gate.logits": self.gate_lr_scale}

    def auxiliary_loss(self) -> torch.Tensor:
        """The sparsity penalty: ``sparsity`` x how far the mean probability of "on" exceeds ``keep``.

        A plain penalty on every "on" (tried first) collapsed the gate to the three DC channels within an
        epoch: with all 192 on, each one alone adds little, so the penalty wins everywhere at once. With a
        budget the penalty stops at ``keep`` of the channels and the task loss decides which ones stay.
        """
        return self.sparsity * F.relu(self.gate.prob_on().mean() - self.keep)


def channel_scores(model: GatedDCTResNet) -> dict[str, np.ndarray]:
    """P(on) per component as an 8x8 frequency grid (row ``v``, column ``u``), from the gate's logits."""
    preset = model.contract.channel_preset
    p = model.gate.prob_on().detach().numpy()
    out: dict[str, np.ndarray] = {}
    start = 0
    for name, chans in zip(COMPONENTS, preset.per_component, strict=True):
        grid = np.zeros(64)
        grid[list(chans)] = p[start : start + len(chans)]
        out[name] = grid.reshape(8, 8)
        start += len(chans)
    return out


def select_preset(scores: dict[str, np.ndarray], k: int, name: str) -> ChannelPreset:
    """The ``k`` highest-scoring channels as a preset. Cb and Cr share one index list in a preset, so a
    chroma index scores the mean of its Cb and Cr probabilities and takes two of the ``k`` slots."""
    y = scores["Y"].ravel()
    c = (scores["Cb"].ravel() + scores["Cr"].ravel()) / 2
    # Ties (e.g. two channels both at P(on) = 1) break toward low frequencies: index order, luma first.
    candidates = sorted(
        [(-float(y[i]), 0, i) for i in range(64)] + [(-float(c[i]), 1, i) for i in range(64)],
        key=lambda t: (t[0], t[2], t[1]),
    )
    luma: list[int] = []
    chroma: list[int] = []
    used = 0
    for _, comp, i in candidates:
        cost = 1 if comp == 0 else 2
        if used + cost > k:
            continue
        (luma if comp == 0 else chroma).append(i)
        used += cost
        if used == k:
            break
    if 0 not in luma:
        raise ValueError("the selection dropped luma DC; the served thumbnail and DRNet predictor need it")
    return ChannelPreset(name, tuple(sorted(luma)), tuple(sorted(chroma)))


@register_model
def dct192_gate(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    sparsity: float = 2.0,
    keep: float = 0.25,
    gate_lr_scale: float = 10.0,
    **kw: Any,
) -> GatedDCTResNet:
    """All 192 DCT channels through a learned hard gate (channel selection only; not served)."""
    grid = kw.pop("grid", (32, 32))
    return GatedDCTResNet(
        dct_contract("dct192", num_classes, class_ids, labels, grid),
        sparsity=sparsity,
        keep=keep,
        gate_lr_scale=gate_lr_scale,
        **kw,
    )
