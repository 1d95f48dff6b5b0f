"""DynOPool (Jang et al., "Learning Downsampling with Dynamic Optimal Pooling", CVPR 2022) on DCT input.

Each of the body's stride-2 downsamplings becomes a resize to a *learned* fraction of its input, one scale
per axis. The output size is ``round(ratio * input)``; the ratio stays differentiable through where the
output cells sample the input: cell centres ``1 / ratio`` input pixels apart around the middle, each cell
the mean of two bilinear samples per axis a quarter cell either side of its centre (at ratio 0.5 that is
exactly 2x2 average pooling, the plain body's downsampling). A budget on the body's multiply-accumulates,
computed from the continuous ratios, trades accuracy for cost (``auxiliary_loss``).

Resampling per axis is a matrix (``[out, in]``), so a resize is two matmuls; for serving ``freeze``
stores each layer's matrices for the contract's fixed grid: the ONNX graph has fixed shapes and no
data-dependent op.
"""

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from inputs.contract import InputContract
from inputs.graphs import CLASSIFIER, GraphKey
from models.dct_resnet import CHROMA_MERGES, DCTInput, _conv_bn, dct_variant
from models.layers import ResNetBody, init_weights
from models.variants import register_model


def resample_matrix(n_in: int, ratio: torch.Tensor, n_out: int) -> torch.Tensor:
    """``[n_out, n_in]`` weights: output cell ``i`` averages two bilinear samples of the input axis."""
    cells = torch.arange(n_out, dtype=torch.float32) + 0.5 - n_out / 2
    centres = n_in / 2 + cells / ratio
    quarter = torch.tensor([-0.25, 0.25]) / ratio
    # Pixel j covers [j, j + 1]; clamping to the outer centres repeats the border (weights still sum to 1).
    q = (centres[:, None] + quarter[None, :]).clamp(0.5, n_in - 0.5)
    pixels = torch.arange(n_in, dtype=torch.float32) + 0.5
    return F.relu(1 - (q[:, :, None] - pixels).abs()).mean(1)


class DynOPool(nn.Module):
    """Resize ``[N, C, H, W]`` to ``round(ratio_h * H) x round(ratio_w * W)`` with learned ratios."""

    def __init__(self, ratio: float = 0.5, bounds: tuple[float, float] = (0.25, 1.0)) -> None:
        super().__init__()
        self.bounds = bounds
        # A hair below the plain ratio: exactly on pixel centres every bilinear weight sits on a kink and the
        # ratio's gradient is zero.
        self.log_ratio = nn.Parameter(torch.full((2,), math.log(ratio * 0.999)))
        self.frozen: tuple[int, int] | None = None

    def ratios(self) -> torch.Tensor:
        return self.log_ratio.exp().clamp(*self.bounds)

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        r = self.ratios().detach()
        return max(1, round(float(r[0]) * h)), max(1, round(float(r[1]) * w))

    def matrices(self, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
        oh, ow = self.output_size(h, w)
        r = self.ratios()
        return resample_matrix(h, r[0], oh), resample_matrix(w, r[1], ow)

    @torch.no_grad()
    def freeze(self, h: int, w: int) -> None:
        """Store the resampling for an ``h x w`` input: from now on a static resize (the ratios stop mattering)."""
        ah, aw = self.matrices(h, w)
        self.register_buffer("ah", ah.clone())
        self.register_buffer("aw", aw.clone())
        self.frozen = (h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.frozen is not None:
            if tuple(x.shape[-2:]) != self.frozen:
                raise ValueError(f"frozen for a {self.frozen} input, got {tuple(x.shape[-2:])}")
            ah, aw = self.ah, self.aw
        else:
            ah, aw = self.matrices(x.shape[-2], x.shape[-1])
        return torch.matmul(torch.matmul(ah, x), aw.t())


class DynOPoolDCTResNet(DCTInput):
    """The plain DCT ResNet with a ``DynOPool`` where each later stage used to stride by 2.

    ``budget``: the body's multiply-accumulates may reach this fraction of the plain body's (ratios 0.5)
    before ``penalty`` (per unit of excess) pushes back; None trains without a penalty."""

    def __init__(
        self,
        contract: InputContract,
        widths: Sequence[int] = (32, 64, 128, 256),
        depths: Sequence[int] = (2, 2, 2, 2),
        dropout: float = 0.0,
        chroma_merge: str = "upsample",
        budget: float | None = 1.0,
        penalty: float = 1.0,
        ratio_lr: float = 10.0,
    ) -> None:
        super().__init__()
        if chroma_merge not in CHROMA_MERGES:
            raise ValueError(f"chroma_merge must be one of {CHROMA_MERGES}, got {chroma_merge!r}")
        self._init_dct(contract)
        n = contract.channel_preset.num_channels
        self.chroma_merge, self.budget, self.penalty, self.ratio_lr = chroma_merge, budget, penalty, ratio_lr
        self.stem = _conv_bn(n if chroma_merge == "upsample" else self.n_luma, widths[0], relu=True)
        self.body = ResNetBody(widths, depths, contract.num_classes, dropout=dropout, strides=(1,) * len(widths))
        self.pools = nn.ModuleList([DynOPool() for _ in widths[1:]])
        if chroma_merge == "late":
            self.chroma_stem = _conv_bn(n - self.n_luma, widths[1], relu=False)
        # Multiply-accumulates per output position of the stem + stage 0, and of each later stage.
        self.position_macs = [_conv_macs(nn.ModuleList([self.stem, self.body.stages[0]]))] + [
            _conv_macs(s) for s in self.body.stages[1:]
        ]
        init_weights(self)

    def forward(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> torch.Tensor:
        stages = self.body.stages
        if self.chroma_merge == "upsample":
            x = stages[0](self.stem((self.dequantize(luma, chroma, luma_q, chroma_q) - self.mean) / self.std))
            c = None
        else:
            y, c = self.normalized_planes(luma, chroma, luma_q, chroma_q)
            x = stages[0](self.stem(y))
        for i, (pool, stage) in enumerate(zip(self.pools, stages[1:], strict=True)):
            x = stage(pool(x))
            if i == 0 and c is not None:
                # Chroma joins after stage 2 on whatever grid the first pool chose (its own 16x16 at 0.5).
                cf = self.chroma_stem(c)
                if cf.shape[-2:] != x.shape[-2:]:
                    cf = F.interpolate(cf, size=x.shape[-2:], mode="bilinear", align_corners=False)
                x = F.relu(x + cf)
        return self.body.forward_head(x)

    def body_macs(self, ratios: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Multiply-accumulates of stem + body at continuous ``ratios`` (default: the learned ones)."""
        ratios = [p.ratios() for p in self.pools] if ratios is None else ratios
        gh, gw = self.contract.grid
        area = torch.tensor(float(gh * gw))
        total = area * self.position_macs[0]
        for r, macs in zip(ratios, self.position_macs[1:], strict=True):
            area = area * r[0] * r[1]
            total = total + area * macs
        return total

    def cost_fraction(self) -> torch.Tensor:
        """Body MACs at the learned ratios over the plain body's (every ratio 0.5)."""
        plain = self.body_macs([torch.tensor([0.5, 0.5])] * len(self.pools))
        return self.body_macs() / plain

    def auxiliary_loss(self) -> torch.Tensor | None:
        if self.budget is None:
            return None
        return self.penalty * F.relu(self.cost_fraction() - self.budget)

    def lr_scales(self) -> dict[str, float]:
        # The ratios must move far in a short run, and weight decay would pull them to 1.
        return {f"pools.{i}.log_ratio": self.ratio_lr for i in range(len(self.pools))}

    def structure(self) -> dict[str, object]:
        return {"learned_sizes": self.learned_sizes(), "cost_fraction": float(self.cost_fraction().detach())}

    def learned_sizes(self) -> list[dict[str, Any]]:
        """Per pool: its ratios and the grid it makes from the contract's grid (what the model card shows)."""
        h, w = self.contract.grid
        rows = []
        for i, pool in enumerate(self.pools):
            oh, ow = pool.output_size(h, w)
            r = pool.ratios().detach()
            rows.append(
                {"pool": i + 1, "ratio_h": float(r[0]), "ratio_w": float(r[1]), "input": [h, w], "output": [oh, ow]}
            )
            h, w = oh, ow
        return rows

    def frozen(self) -> "DynOPoolDCTResNet":
        """A copy whose pools are static resizes for the contract's grid."""
        model = copy.deepcopy(self)
        h, w = self.contract.grid
        for pool in model.pools:
            pool.freeze(h, w)
            h, w = pool.output_size(h, w)
        return model

    def graph_modules(self) -> dict[GraphKey, nn.Module]:
        return {CLASSIFIER: self.frozen()}


def _conv_macs(module: nn.Module) -> float:
    """Multiply-accumulates per output position of every convolution in ``module`` (all at one grid)."""
    return float(
        sum(
            m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
            for m in module.modules()
            if isinstance(m, nn.Conv2d)
        )
    )


@register_model
def dynopool_dct_resnet(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    preset: str = "learned48",
    **kw: Any,
) -> DynOPoolDCTResNet:
    """The plain DCT ResNet-18-class body with learned per-axis downsampling (``budget`` of the plain MACs)."""
    return dct_variant(DynOPoolDCTResNet, preset, num_classes, class_ids, labels, **kw)  # type: ignore[return-value]
