"""A DCT-domain DRNet (DRNet's idea, Zhu et al. NeurIPS 2021, with no decode anywhere).

- The predictor reads the DC coefficients only (the 1/8-scale thumbnail DRNet already uses).
- Every path reads quantized DCT coefficients: the top path on the JPEG's own block grid, the others on exact
  DCT-domain box downscales of it (``jpegdct.blocks.downsample_blocks``), over the same field of view. At half
  the side a path's grid has a quarter of the blocks, so an easy photo costs a quarter of the body's FLOPs.
- The body is ``DCTResNet`` with every BatchNorm resolution-aware; convolutions are shared by all paths.
"""

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from inputs.contract import InputContract
from models.dct_resnet import DCTResNet
from models.drnet import DynamicResolution, ResolutionBN, ResolutionPredictor, _reset_resolution_bns
from models.layers import default_labels, init_weights
from models.variants import register_model


class DCTDRNet(DynamicResolution, DCTResNet):
    def __init__(self, contract: InputContract, **kwargs: Any) -> None:
        r = len(contract.resolutions)
        super().__init__(contract, norm=lambda c: ResolutionBN(c, r), **kwargs)
        self.predictor = ResolutionPredictor(r)
        init_weights(self.predictor)
        _reset_resolution_bns(self)
        self.path_calls = [0] * r

    def path_forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The path's four DCT tensors (``inputs.kinds.dct_tensors``) at the active resolution -> logits."""
        return DCTResNet.forward(self, *inputs)


@register_model
def dct_drnet(
    num_classes: int = 10,
    class_ids: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    preset: str = "dct24",
    resolutions: Sequence[int] = (256, 128),
    thumbnail: int = 32,
    source_short: int = 320,
    widths: Sequence[int] = (48, 96, 192, 384),
    depths: Sequence[int] = (2, 2, 2, 2),
    chroma_merge: str = "late",
    dropout: float = 0.0,
) -> nn.Module:
    """DCT-domain DRNet: paths at 256 px (the native 32x32 block grid) and 128 px (its exact 2x DCT-domain
    downscale, 16x16), a predictor on the DC coefficients."""
    if class_ids is None:
        class_ids, labels = default_labels(num_classes)
    res = tuple(sorted(resolutions, reverse=True))
    contract = InputContract(
        kind="dct_drnet",
        class_ids=tuple(class_ids),
        labels=tuple(labels or class_ids),
        preset=preset,
        grid=(res[0] // 8, res[0] // 8),
        resolutions=res,
        thumbnail=thumbnail,
        source_short=source_short,
    )
    return DCTDRNet(contract, widths=widths, depths=depths, chroma_merge=chroma_merge, dropout=dropout)
