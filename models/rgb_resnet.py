"""RGB baseline: the same ResNet body with its usual stem (7x7 stride-2 conv + 3x3 stride-2 max-pool),
fed uint8 NHWC pixels from a decode + resize + centre crop. Normalization lives in the model."""

from collections.abc import Callable, Sequence

import torch
from torch import nn

from inputs.contract import InputContract
from models.layers import RGB_DEFAULT_MEAN, RGB_DEFAULT_STD, InputStats, ResNetBody, default_labels, init_weights
from models.variants import register_model


def rgb_stem(width: int, norm: Callable[[int], nn.Module] = nn.BatchNorm2d) -> list[nn.Module]:
    """7x7 stride-2 conv, norm, ReLU, 3x3 stride-2 max-pool (``norm`` builds the norm layer: DRNet's is
    resolution-aware)."""
    return [
        nn.Conv2d(3, width, 7, 2, 3, bias=False),
        norm(width),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
    ]


class RGBResNet(InputStats):
    def __init__(
        self,
        contract: InputContract,
        widths: Sequence[int] = (32, 64, 128, 256),
        depths: Sequence[int] = (2, 2, 2, 2),
        dropout: float = 0.0,
        norm: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        """``norm`` builds every normalization layer (DRNet's are resolution-aware)."""
        super().__init__()
        self.contract = contract
        self._init_stats(contract.mean or RGB_DEFAULT_MEAN, contract.std or RGB_DEFAULT_STD)
        self.stem = nn.Sequential(*rgb_stem(widths[0], norm))
        self.body = ResNetBody(widths, depths, contract.num_classes, norm=norm, dropout=dropout)
        init_weights(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``image``: uint8 ``[N, H, W, 3]``."""
        return self.body(self.stem(self.normalize_rgb(image)))


@register_model
def rgb_resnet(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    size: int = 224,
    resize_short: int = 280,
    widths: Sequence[int] = (32, 64, 128, 256),
    depths: Sequence[int] = (2, 2, 2, 2),
    dropout: float = 0.0,
) -> RGBResNet:
    """RGB baseline, ResNet-18 layout, 224 px centre crop of the short side resized to 280 px."""
    if class_ids is None:
        class_ids, labels = default_labels(num_classes)
    contract = InputContract(
        kind="rgb", class_ids=tuple(class_ids), labels=tuple(labels or class_ids), size=size, resize_short=resize_short
    )
    return RGBResNet(contract, widths, depths, dropout)
