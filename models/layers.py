"""Layers every family shares: the ResNet body (BasicBlock stages, global pooling, linear head), the
input-statistics base class, weight init and BatchNorm as a per-channel affine for export.

``norm`` builds each normalization layer, so DRNet can swap in resolution-aware BatchNorm while the
convolutions stay shared.
"""

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn

from inputs.graphs import CLASSIFIER, GraphKey

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

    def graph_modules(self) -> dict[GraphKey, nn.Module]:
        """The module behind each graph of the model's kind (``inputs.kinds``), for export, parity and
        FLOPs counting. One-graph kinds are the model itself; DRNet overrides this."""
        return {CLASSIFIER: self}

    def lr_scales(self) -> dict[str, float]:
        """Parameters (by name) that train at a multiple of the base learning rate, without weight decay
        (the channel gate's logits, which must move far in a short run)."""
        return {}

    def auxiliary_loss(self) -> torch.Tensor | None:
        """A training penalty on the model's own parameters, added to the task loss (None: nothing; the
        channel gate's sparsity overrides this)."""
        return None

    def structure(self) -> dict[str, object]:
        """What the model card shows about this model's own shape beyond params and FLOPs (DynOPool: its
        learned sizes); empty for most families."""
        return {}

    def stats_input(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The float ``[N, C, H, W]`` tensor that ``mean``/``std`` normalize, from the graph's inputs (uint8
        NHWC pixels here; DCT models override this with their dequantization)."""
        return inputs[0].permute(0, 3, 1, 2).float()

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


class ChannelAffine(nn.Module):
    """``x * scale + shift`` per channel: an eval-mode BatchNorm written out (see ``batchnorm_as_affine``)."""

    def __init__(self, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        self.register_buffer("scale", scale.view(1, -1, 1, 1).clone())
        self.register_buffer("shift", (bn.bias.detach() - bn.running_mean * scale).view(1, -1, 1, 1).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.shift


def batchnorm_as_affine(module: nn.Module) -> nn.Module:
    """An eval copy with every BatchNorm2d as a per-channel ``ChannelAffine``: what export writes.

    Why not fold them into the convolutions here: the convolutions then keep the checkpoint's own weights,
    which are float16 values, so the file can store them as float16 with no loss (``export.onnx_export``);
    ONNX Runtime folds the Mul/Add into the Conv when it loads the graph, so the runtime still does one op."""
    module = copy.deepcopy(module).eval()

    def replace_in(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(parent, name, ChannelAffine(child))
            else:
                replace_in(child)

    replace_in(module)
    return module
