"""Octave convolution (Chen et al., "Drop an Octave", ICCV 2019) on DCT input.

Every feature map is split into a high-frequency octave at full resolution and a low-frequency octave at
half resolution (``alpha`` of the channels), joined by four paths: high->high, high->low (2x average pool,
then conv), low->high (conv, then 2x nearest upsample), low->low. The last stage is plain (``alpha`` 0):
its grid is already small, and the head pools one map.

The JPEG already separates the octaves, so the stem reads them straight from the coefficients, no decode:
- high octave: the luma channels on the native block grid;
- low octave: the chroma channels on their own (4:2:0, half) grid, which is the encoder's own 2x
  downscale, plus the luma DC pooled 2x2, which *is* the DC of the exact 2x box downscale (a block's DC
  is its mean; the mean of four blocks is the mean of their union).

The contract is the plain DCT model's (kind ``dct``): serving, export and training need nothing new.
"""

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from inputs.contract import InputContract
from models.dct_resnet import DCTInput, dct_variant
from models.layers import init_weights
from models.variants import register_model

Octaves = tuple[torch.Tensor, torch.Tensor | None]


def split_width(width: int, alpha: float) -> tuple[int, int]:
    """(high, low) channel counts of a layer ``width`` wide, ``alpha`` of it low."""
    low = int(round(width * alpha))
    if low >= width:
        raise ValueError(f"alpha={alpha} leaves no high-octave channel in width {width}")
    return width - low, low


def _pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 2)


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class OctConv(nn.Module):
    """(high, low) -> (high, low); ``stride`` 2 average-pools both octaves first, as the paper does.

    A zero channel count on either side drops the paths that would read or write it."""

    def __init__(self, cin: tuple[int, int], cout: tuple[int, int], kernel: int, stride: int = 1) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.stride = stride
        (hi_in, lo_in), (hi_out, lo_out) = cin, cout

        def conv(a: int, b: int) -> nn.Conv2d | None:
            return nn.Conv2d(a, b, kernel, 1, kernel // 2, bias=False) if a and b else None

        self.hh, self.hl, self.lh, self.ll = (
            conv(hi_in, hi_out),
            conv(hi_in, lo_out),
            conv(lo_in, hi_out),
            conv(lo_in, lo_out),
        )
        self.out_channels = cout

    def forward(self, xh: torch.Tensor, xl: torch.Tensor | None) -> Octaves:
        if self.stride == 2:
            xh, xl = _pool(xh), None if xl is None else _pool(xl)
        yh = self.hh(xh)
        if self.lh is not None and xl is not None:
            yh = yh + _up(self.lh(xl))
        parts = [m(x) for m, x in ((self.hl, _pool(xh)), (self.ll, xl)) if m is not None and x is not None]
        return yh, (sum(parts[1:], parts[0]) if parts else None)


class OctNorm(nn.Module):
    """BatchNorm (and ReLU) per octave."""

    def __init__(self, channels: tuple[int, int], relu: bool) -> None:
        super().__init__()
        self.h = nn.BatchNorm2d(channels[0])
        self.l = nn.BatchNorm2d(channels[1]) if channels[1] else None
        self.relu = relu

    def forward(self, xh: torch.Tensor, xl: torch.Tensor | None) -> Octaves:
        yh = self.h(xh)
        yl = None if self.l is None or xl is None else self.l(xl)
        if self.relu:
            yh, yl = F.relu(yh), None if yl is None else F.relu(yl)
        return yh, yl


class OctBlock(nn.Module):
    """The ResNet basic block with octave convolutions (a 1x1 octave conv on the shortcut when shapes change)."""

    def __init__(self, cin: tuple[int, int], cout: tuple[int, int], stride: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = OctConv(cin, cout, 3, stride), OctNorm(cout, relu=True)
        self.conv2, self.bn2 = OctConv(cout, cout, 3), OctNorm(cout, relu=False)
        self.shortcut: nn.ModuleList | None = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.ModuleList([OctConv(cin, cout, 1, stride), OctNorm(cout, relu=False)])

    def forward(self, xh: torch.Tensor, xl: torch.Tensor | None) -> Octaves:
        sh, sl = (xh, xl) if self.shortcut is None else self.shortcut[1](*self.shortcut[0](xh, xl))
        yh, yl = self.bn2(*self.conv2(*self.bn1(*self.conv1(xh, xl))))
        return F.relu(yh + sh), None if yl is None or sl is None else F.relu(yl + sl)


class OctaveDCTResNet(DCTInput):
    """Oct-ResNet (basic blocks) on the DCT coefficients; stages 1..n-1 split by ``alpha``, the last plain."""

    def __init__(
        self,
        contract: InputContract,
        widths: Sequence[int] = (32, 64, 128, 256),
        depths: Sequence[int] = (2, 2, 2, 2),
        alpha: float = 0.5,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self._init_dct(contract)
        preset = contract.channel_preset
        if 0 not in preset.luma:
            raise ValueError(f"the low octave needs the luma DC: preset {preset.name!r} lacks channel 0")
        # Stage grids: high halves at each stage after the first, low is half of high until the last stage.
        multiple = 2 ** len(widths)
        if any(g % multiple for g in contract.grid):
            raise ValueError(f"grid {contract.grid} must be a multiple of {multiple} for {len(widths)} octave stages")
        self.alpha = alpha
        self.dc = preset.luma.index(0)
        n_chroma = preset.num_channels - self.n_luma
        octaves = [split_width(w, alpha) for w in widths[:-1]] + [(widths[-1], 0)]
        self.stem = OctConv((self.n_luma, n_chroma + 1), octaves[0], 3)
        self.stem_norm = OctNorm(octaves[0], relu=True)
        blocks: list[OctBlock] = []
        cin = octaves[0]
        for i, (cout, depth) in enumerate(zip(octaves, depths, strict=True)):
            for j in range(depth):
                blocks.append(OctBlock(cin, cout, 2 if i > 0 and j == 0 else 1))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(widths[-1], contract.num_classes)
        init_weights(self)
        for b in self.blocks:  # every block starts as the identity, as in the plain body
            nn.init.zeros_(b.bn2.h.weight)
            if b.bn2.l is not None:
                nn.init.zeros_(b.bn2.l.weight)

    def structure(self) -> dict[str, object]:
        return {"alpha": self.alpha}

    def octave_inputs(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The normalized (high, low) octaves the stem reads: luma on its grid; pooled luma DC + chroma."""
        y, c = self.normalized_planes(*inputs)
        return y, torch.cat([_pool(y[:, self.dc : self.dc + 1]), c], dim=1)

    def forward(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> torch.Tensor:
        xh, xl = self.stem_norm(*self.stem(*self.octave_inputs(luma, chroma, luma_q, chroma_q)))
        for block in self.blocks:
            xh, xl = block(xh, xl)
        return self.fc(self.dropout(torch.flatten(F.adaptive_avg_pool2d(xh, 1), 1)))


@register_model
def octave_dct_resnet(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    preset: str = "learned48",
    **kw: Any,
) -> OctaveDCTResNet:
    """Oct-ResNet-18-class body (``alpha`` 0.5 unless given) on any DCT preset, native 32x32 grid."""
    return dct_variant(OctaveDCTResNet, preset, num_classes, class_ids, labels, **kw)  # type: ignore[return-value]
