"""DCT-input ResNet (DCTNet idea, Xu et al. CVPR 2020): the stride-2 conv + max-pool stem is replaced by
the JPEG's own 8x8-block DCT coefficients entering at the first residual stage.

Inputs are the *quantized* int16 coefficients and their quantization steps; dequantization, per-channel
normalization and the 2x nearest upsampling of 4:2:0 chroma to the luma grid happen inside the network,
so the exported graph does them on the accelerator.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from models.contract import InputContract
from models.registry import register_model
from models.resnet import ResNetBody, default_labels, init_weights


class DCTResNet(nn.Module):
    def __init__(
        self,
        contract: InputContract,
        widths: Sequence[int] = (32, 64, 128, 256),
        depths: Sequence[int] = (2, 2, 2, 2),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.contract = contract
        preset = contract.channel_preset
        n = preset.num_channels
        mean = contract.mean or (0.0,) * n
        std = contract.std or (1.0,) * n
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, n, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, n, 1, 1))
        self.n_luma = len(preset.luma)
        # The DCT input is already 8x downsampled: one 3x3 conv adapts channels, no stride, no pooling.
        self.stem = nn.Sequential(
            nn.Conv2d(n, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)
        )
        self.body = ResNetBody(widths, depths, contract.num_classes, dropout=dropout)
        init_weights(self)

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean.copy_(mean.view_as(self.mean))
        self.std.copy_(std.view_as(self.std))

    def dequantize(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> torch.Tensor:
        """int16 coefficients x steps, chroma upsampled to the luma grid -> ``[N, C, gh, gw]`` float."""
        y = luma.float() * luma_q[:, :, None, None]
        c = chroma.float() * chroma_q[:, :, None, None]
        c = F.interpolate(c, scale_factor=2.0, mode="nearest")
        return torch.cat([y, c], dim=1)

    def forward(
        self, luma: torch.Tensor, chroma: torch.Tensor, luma_q: torch.Tensor, chroma_q: torch.Tensor
    ) -> torch.Tensor:
        x = (self.dequantize(luma, chroma, luma_q, chroma_q) - self.mean) / self.std
        return self.body(self.stem(x))


def _contract(
    preset: str, class_ids: Sequence[str] | None, labels: Sequence[str] | None, num_classes: int, grid: tuple[int, int]
) -> InputContract:
    if class_ids is None:
        class_ids, default = default_labels(num_classes)
        labels = labels or default
    return InputContract(
        kind="dct", class_ids=tuple(class_ids), labels=tuple(labels or class_ids), preset=preset, grid=grid
    )


@register_model
def dct24_resnet(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    grid: tuple[int, int] = (32, 32),
    widths: Sequence[int] = (32, 64, 128, 256),
    depths: Sequence[int] = (2, 2, 2, 2),
    dropout: float = 0.0,
) -> DCTResNet:
    """24 DCT channels (DCTNet's low-frequency selection), ResNet-18 layout."""
    return DCTResNet(_contract("dct24", class_ids, labels, num_classes, grid), widths, depths, dropout)


@register_model
def dct64_resnet(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    grid: tuple[int, int] = (32, 32),
    widths: Sequence[int] = (32, 64, 128, 256),
    depths: Sequence[int] = (2, 2, 2, 2),
    dropout: float = 0.0,
) -> DCTResNet:
    """64 DCT channels (DCTNet's larger selection), ResNet-18 layout."""
    return DCTResNet(_contract("dct64", class_ids, labels, num_classes, grid), widths, depths, dropout)
