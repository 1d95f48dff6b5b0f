"""Tiny torch models of every kind with real BatchNorm statistics, for the export tests."""

import torch
from torch import nn

TINY = {"widths": (16, 16, 16, 16), "depths": (1, 1, 1, 1), "num_classes": 5}
VARIANTS = {
    "dct24_resnet": {"grid": (8, 8)},
    "rgb_resnet": {"size": 48, "resize_short": 60},
    "drnet_resnet": {"resolutions": (48, 40, 32), "resize_short": 60, "thumbnail": 8},
    "dct_drnet": {"resolutions": (64, 32), "thumbnail": 8, "source_short": 64},
    "octave_dct_resnet": {"grid": (16, 16)},
    "dynopool_dct_resnet": {"grid": (16, 16), "chroma_merge": "late"},
}
EXPECTED_FILES = {
    "dct24_resnet": ["model.onnx"],
    "rgb_resnet": ["model.onnx"],
    "drnet_resnet": ["predictor.onnx", "path_48.onnx", "path_40.onnx", "path_32.onnx"],
    "dct_drnet": ["predictor.onnx", "path_64.onnx", "path_32.onnx"],
    "octave_dct_resnet": ["model.onnx"],
    "dynopool_dct_resnet": ["model.onnx"],
}


def randomize_bn(model: nn.Module) -> None:
    """Untrained BNs are identities; give them real statistics so folding is actually exercised."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
