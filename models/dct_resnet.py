"""DCT-input ResNet (DCTNet idea, Xu et al. CVPR 2020): the stride-2 conv + max-pool stem is replaced by
the JPEG's own 8x8-block DCT coefficients entering at the first residual stage.

Inputs are the *quantized* int16 coefficients and their quantization steps; dequantization, per-channel
normalization and the 2x nearest upsampling of 4:2:0 chroma to the luma grid happen inside the network,
so the exported graph does them on the accelerator.
"""

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from inputs.contract import InputContract
from models.layers import InputStats, NormFactory, ResNetBody, default_labels, init_weights
from models.variants import register_model

CHROMA_MERGES = ("upsample", "late")


def _conv_bn(cin: int, cout: int, relu: bool, norm: NormFactory = nn.BatchNorm2d) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), norm(cout)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class DCTInput(InputStats):
    """Base of the DCT-input families: the contract, the per-channel statistics over the preset's channels,
    and the dequantization every one of them does first (inside the graph, so on the accelerator)."""

    def _init_dct(self, contract: InputContract) -> None:
        self.contract = contract
        n = contract.channel_preset.num_channels
        self._init_stats(contract.mean or (0.0,) * n, contract.std or (1.0,) * n)
        self.n_luma = len(contract.channel_preset.luma)

    def dequantize_planes(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """int16 coefficients x steps, luma and chroma each on its own block grid (float)."""
        return luma.float() * luma_q[:, :, None, None], chroma.float() * chroma_q[:, :, None, None]

    def dequantize(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> torch.Tensor:
        """int16 coefficients x steps, chroma upsampled to the luma grid -> ``[N, C, gh, gw]`` float."""
        y, c = self.dequantize_planes(luma, chroma, luma_q, chroma_q)
        return torch.cat([y, F.interpolate(c, scale_factor=2.0, mode="nearest")], dim=1)

    def normalized_planes(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Dequantized and normalized luma and chroma, each on its own grid."""
        nl = self.n_luma
        y, c = self.dequantize_planes(luma, chroma, luma_q, chroma_q)
        return (y - self.mean[:, :nl]) / self.std[:, :nl], (c - self.mean[:, nl:]) / self.std[:, nl:]

    def stats_input(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.dequantize(*inputs)


class DCTResNet(DCTInput):
    """``chroma_merge``: "upsample" (2x nearest chroma joins the luma before the stem) or "late" (chroma gets
    its own conv on the 16x16 chroma grid and is added after stage 2, where the luma grid is 16x16 too).

    ``norm`` builds every normalization layer (DRNet's are resolution-aware)."""

    def __init__(
        self,
        contract: InputContract,
        widths: Sequence[int] = (32, 64, 128, 256),
        depths: Sequence[int] = (2, 2, 2, 2),
        dropout: float = 0.0,
        strides: Sequence[int] | None = None,
        chroma_merge: str = "upsample",
        norm: NormFactory = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if chroma_merge not in CHROMA_MERGES:
            raise ValueError(f"chroma_merge must be one of {CHROMA_MERGES}, got {chroma_merge!r}")
        if chroma_merge == "late" and strides is not None and strides[0] * strides[1] != 2:
            raise ValueError("chroma_merge='late' needs stages 1-2 to halve the grid once (to the chroma grid)")
        self._init_dct(contract)
        n = contract.channel_preset.num_channels
        self.chroma_merge = chroma_merge
        # The DCT input is already 8x downsampled: one 3x3 conv adapts channels, no stride, no pooling.
        stem_in = n if chroma_merge == "upsample" else self.n_luma
        self.stem = _conv_bn(stem_in, widths[0], relu=True, norm=norm)
        self.body = ResNetBody(widths, depths, contract.num_classes, norm=norm, dropout=dropout, strides=strides)
        if chroma_merge == "late":
            # Uber's "late concat": chroma joins on its own 16x16 grid, where stage 2 has brought the luma.
            self.chroma_stem = _conv_bn(n - self.n_luma, widths[1], relu=False, norm=norm)
        init_weights(self)

    def forward(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> torch.Tensor:
        if self.chroma_merge == "upsample":
            x = (self.dequantize(luma, chroma, luma_q, chroma_q) - self.mean) / self.std
            return self.body(self.stem(x))
        y, c = self.normalized_planes(luma, chroma, luma_q, chroma_q)
        stages = self.body.stages
        x = stages[1](stages[0](self.stem(y)))
        x = F.relu(x + self.chroma_stem(c))
        return self.body.forward_head(stages[2:](x))


def dct_contract(
    preset: str, num_classes: int, class_ids: Sequence[str] | None, labels: Sequence[str] | None, grid: Sequence[int]
) -> InputContract:
    """The contract of a DCT model on ``preset`` (default class names when ``class_ids`` is None)."""
    if class_ids is None:
        class_ids, default = default_labels(num_classes)
        labels = labels or default
    return InputContract(
        kind="dct", class_ids=tuple(class_ids), labels=tuple(labels or class_ids), preset=preset, grid=tuple(grid)
    )


def dct_variant(
    family: Callable[..., nn.Module],
    preset: str,
    num_classes: int,
    class_ids: Sequence[str] | None,
    labels: Sequence[str] | None,
    **kw: Any,
) -> nn.Module:
    """A DCT family's model on ``preset``, on ``kw.pop("grid")`` (default the native 32x32 block grid)."""
    grid = kw.pop("grid", (32, 32))
    return family(dct_contract(preset, num_classes, class_ids, labels, grid), **kw)


def _dct_variant(
    preset: str, num_classes: int, class_ids: Sequence[str] | None, labels: Sequence[str] | None, **kw: Any
) -> DCTResNet:
    return dct_variant(DCTResNet, preset, num_classes, class_ids, labels, **kw)  # type: ignore[return-value]


@register_model
def dct24_resnet(
    num_classes: int = 10, class_ids: Sequence[str] | None = None, labels: Sequence[str] | None = None, **kw: Any
) -> DCTResNet:
    """24 DCT channels (DCTNet's low-frequency selection), half-width ResNet-18 body on a 32x32 block grid."""
    return _dct_variant("dct24", num_classes, class_ids, labels, **kw)


@register_model
def dct64_resnet(
    num_classes: int = 10, class_ids: Sequence[str] | None = None, labels: Sequence[str] | None = None, **kw: Any
) -> DCTResNet:
    """64 DCT channels (DCTNet's larger selection), half-width ResNet-18 body on a 32x32 block grid."""
    return _dct_variant("dct64", num_classes, class_ids, labels, **kw)


@register_model
def dct_resnet(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    preset: str = "dct24",
    **kw: Any,
) -> DCTResNet:
    """Any ``jpegdct.channels`` preset (e.g. a learned one), half-width ResNet-18 body unless ``widths``."""
    return _dct_variant(preset, num_classes, class_ids, labels, **kw)
