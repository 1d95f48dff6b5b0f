"""DRNet (Zhu et al., "Dynamic Resolution Network", NeurIPS 2021) on the RGB ResNet.

- A tiny resolution predictor looks at what a JPEG gives almost for free: its DC coefficients, a 1/8-scale
  YCbCr thumbnail. It scores the candidate resolutions.
- The classifier's convolutions are shared across resolutions; every BatchNorm is resolution-aware (one BN
  per resolution), since activation statistics differ with input scale.
- Training: hard Gumbel-softmax (straight-through) over the predictor's logits picks a resolution per image;
  the loss is the chosen resolution's cross-entropy plus a FLOPs constraint that penalizes expected FLOPs
  above a target fraction of the full-resolution path.
- Inference: argmax (no Gumbel noise), and only the chosen path is computed for each image.
"""

import copy
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from inputs.contract import InputContract
from inputs.graphs import PREDICTOR, GraphKey, path_key
from models.layers import default_labels, init_weights
from models.rgb_resnet import RGBResNet
from models.variants import register_model


class ResolutionBN(nn.Module):
    """One BatchNorm per candidate resolution; ``index`` selects the active one."""

    def __init__(self, num_features: int, num_resolutions: int) -> None:
        super().__init__()
        self.bns = nn.ModuleList(nn.BatchNorm2d(num_features) for _ in range(num_resolutions))
        self.index = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bns[self.index](x)


class ResolutionPredictor(nn.Module):
    """A few strided convs on the ``[N, 3, T, T]`` DC thumbnail (0..255 YCbCr) -> one logit per resolution."""

    def __init__(self, num_resolutions: int, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for w in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(cin, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_resolutions)

    def forward(self, thumbnail: torch.Tensor) -> torch.Tensor:
        x = (thumbnail - 128.0) / 64.0
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class DynamicResolution:
    """What every DRNet shares, whatever its input: ``forward`` is the predictor, ``forward_path`` classifies
    at one resolution through that resolution's BNs, ``graph_modules`` gives one plain graph per path.

    A family supplies ``contract``, ``predictor`` and ``path_forward(*inputs)`` (its network, BNs as set).
    """

    contract: InputContract
    predictor: nn.Module
    path_calls: list[int]

    def path_forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def set_resolution(self, index: int) -> None:
        for m in self.modules():  # type: ignore[attr-defined]
            if isinstance(m, ResolutionBN):
                m.index = index

    def forward_path(self, *inputs: torch.Tensor, index: int) -> torch.Tensor:
        """Classify a batch whose inputs are all at ``contract.resolutions[index]``."""
        self.set_resolution(index)
        self.path_calls[index] += inputs[0].shape[0]
        return self.path_forward(*inputs)

    def forward(self, thumbnail: torch.Tensor) -> torch.Tensor:
        """Resolution logits (the predictor); classification goes through ``forward_path`` / ``classify``."""
        return self.predictor(thumbnail)

    def graph_modules(self) -> dict[GraphKey, nn.Module]:
        """The predictor, and each resolution as a plain network (its own BNs): one graph each."""
        paths = {path_key(r): DRNetPath(self, i) for i, r in enumerate(self.contract.resolutions)}  # type: ignore[arg-type]
        return {PREDICTOR: self.predictor, **paths}

    @torch.no_grad()
    def classify(
        self, thumbnail: torch.Tensor, inputs: Callable[[int, torch.Tensor], tuple[torch.Tensor, ...]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inference: pick a resolution per image, then run only that path on only those images.

        ``inputs(index, rows)`` returns the given rows' path inputs at resolution ``index`` (so a caller
        can read each image at just the chosen scale). Returns (logits, chosen indices).
        """
        choice = self.predictor(thumbnail).argmax(dim=1)
        logits = torch.zeros(thumbnail.shape[0], self.contract.num_classes)
        for idx in choice.unique().tolist():
            rows = (choice == idx).nonzero().flatten()
            logits[rows] = self.forward_path(*inputs(idx, rows), index=idx)
        return logits, choice


def _reset_resolution_bns(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, ResolutionBN):
            for bn in m.bns:
                nn.init.ones_(bn.weight)
                nn.init.zeros_(bn.bias)


class DRNet(DynamicResolution, RGBResNet):
    """The RGB ResNet with resolution-aware BatchNorm and a resolution predictor."""

    def __init__(
        self,
        contract: InputContract,
        widths: Sequence[int] = (32, 64, 128, 256),
        depths: Sequence[int] = (2, 2, 2, 2),
        dropout: float = 0.0,
    ) -> None:
        r = len(contract.resolutions)
        super().__init__(contract, widths, depths, dropout, norm=lambda c: ResolutionBN(c, r))
        self.predictor = ResolutionPredictor(r)
        init_weights(self.predictor)
        _reset_resolution_bns(self)
        self.path_calls = [0] * r  # images each path has classified (inference bookkeeping, tests)

    def path_forward(self, image: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC images at the active resolution -> logits."""
        return RGBResNet.forward(self, image)


class DRNetPath(nn.Module):
    """One DRNet resolution as a plain network: a copy with each resolution-aware BN replaced by that
    resolution's BN (what export folds into the convolutions), and without the predictor."""

    def __init__(self, model: DynamicResolution, index: int) -> None:
        super().__init__()
        m = copy.deepcopy(model).eval()
        for parent in m.modules():  # type: ignore[attr-defined]
            for name, child in list(parent._modules.items()):
                if isinstance(child, ResolutionBN):
                    parent._modules[name] = child.bns[index]
        del m._modules["predictor"]  # type: ignore[attr-defined]
        self.net = m
        self.contract = model.contract

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net.path_forward(*inputs)  # type: ignore[attr-defined]


def flops_constraint(probs: torch.Tensor, path_flops: torch.Tensor, target: float) -> torch.Tensor:
    """DRNet's FLOPs loss: penalize expected FLOPs (fraction of the full path) above ``target``."""
    expected = (probs * (path_flops / path_flops.max())).sum(dim=1).mean()
    return F.relu(expected - target) ** 2 + 0.0 * expected


def predictor_loss(
    logits: torch.Tensor,
    path_losses: torch.Tensor,
    path_flops: torch.Tensor,
    target: float,
    weight: float,
    tau: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard Gumbel-softmax (straight-through) choice; chosen path's loss + FLOPs constraint.

    ``path_losses``: ``[N, R]`` cross-entropy of each image at each resolution (classifier frozen, or
    computed in the same step). Returns (loss, one-hot choice).
    """
    onehot = F.gumbel_softmax(logits, tau=tau, hard=True)
    task = (onehot * path_losses).sum(dim=1).mean()
    return task + weight * flops_constraint(onehot, path_flops, target), onehot


@register_model
def drnet_resnet(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    resolutions: Sequence[int] = (224, 160, 128),
    resize_short: int = 280,
    thumbnail: int = 32,
    widths: Sequence[int] = (32, 64, 128, 256),
    depths: Sequence[int] = (2, 2, 2, 2),
    dropout: float = 0.0,
) -> DRNet:
    """DRNet on the half-width ResNet-18 RGB baseline; 224/160/128 px (libjpeg scales 7/8, 5/8, 4/8 of 320)."""
    if class_ids is None:
        class_ids, labels = default_labels(num_classes)
    contract = InputContract(
        kind="drnet",
        class_ids=tuple(class_ids),
        labels=tuple(labels or class_ids),
        size=max(resolutions),
        resize_short=resize_short,
        resolutions=tuple(sorted(resolutions, reverse=True)),
        thumbnail=thumbnail,
    )
    return DRNet(contract, widths, depths, dropout)
