"""The ResNet body shared by every family: BasicBlock stages, then global pooling and a linear head.

``norm`` builds each normalization layer, so DRNet can swap in resolution-aware BatchNorm while the
convolutions stay shared.
"""

from collections.abc import Callable, Sequence

import torch
from torch import nn

NormFactory = Callable[[int], nn.Module]


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, norm: NormFactory) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = norm(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), norm(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetBody(nn.Module):
    """Residual stages + head. Input: ``widths[0]`` channels.

    ``strides`` gives each stage's first-block stride (default: 1 for the first stage, 2 after).
    """

    def __init__(
        self,
        widths: Sequence[int],
        depths: Sequence[int],
        num_classes: int,
        norm: NormFactory = nn.BatchNorm2d,
        dropout: float = 0.0,
        strides: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        strides = tuple(strides) if strides is not None else (1,) + (2,) * (len(widths) - 1)
        stages: list[nn.Module] = []
        cin = widths[0]
        for w, d, s in zip(widths, depths, strides, strict=True):
            blocks = [BasicBlock(cin if j == 0 else w, w, s if j == 0 else 1, norm) for j in range(d)]
            stages.append(nn.Sequential(*blocks))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)
        self.num_features = cin

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.flatten(self.pool(x), 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


class InputStats(nn.Module):
    """Base for models that normalize their input with per-channel statistics held as buffers.

    The statistics come from the training split (``set_input_stats``) and travel in the state dict and in
    the input contract, so the exported graph normalizes on the accelerator.
    """

    def _init_stats(self, mean: Sequence[float], std: Sequence[float]) -> None:
        n = len(mean)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, n, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, n, 1, 1))

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean.copy_(mean.view_as(self.mean))
        self.std.copy_(std.view_as(self.std))

    def normalize_rgb(self, image: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC -> normalized float NCHW."""
        # contiguous(): torch 2.13's CPU conv backward crashed on the channels-last view for narrow stems.
        return (image.permute(0, 3, 1, 2).float().contiguous() - self.mean) / self.std


RGB_DEFAULT_MEAN = (127.5, 127.5, 127.5)
RGB_DEFAULT_STD = (64.0, 64.0, 64.0)


def init_weights(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    # Zero-init the last BN of each residual branch: every block starts as identity (trains faster).
    for m in module.modules():
        if isinstance(m, BasicBlock) and isinstance(m.bn2, nn.BatchNorm2d):
            nn.init.zeros_(m.bn2.weight)


def default_labels(num_classes: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ids = tuple(f"class_{i}" for i in range(num_classes))
    return ids, ids
