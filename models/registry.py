"""Model registry: ``create_model(name)`` builds any registered variant of any family.

Importing a family module registers its variants (``models.variants``); every family is imported here,
once, at the top.
"""

from typing import Any

from torch import nn

from models import (  # noqa: F401  (registers their variants)
    channel_gate,
    dct_drnet,
    dct_resnet,
    drnet,
    dynopool,
    octave,
    rgb_resnet,
)
from models.variants import VARIANTS


def list_models() -> list[str]:
    return sorted(VARIANTS)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered variant. Every model exposes ``.contract`` (an ``InputContract``)."""
    try:
        factory = VARIANTS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(VARIANTS)}") from None
    return factory(**kwargs)
