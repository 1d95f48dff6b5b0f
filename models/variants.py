"""The variant table: each family module registers its factories here by name (timm style).

Families import this module; ``models.registry`` imports every family. So the registry needs no lazy
import and nothing imports in a circle.
"""

from collections.abc import Callable

from torch import nn

VARIANTS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    if fn.__name__ in VARIANTS:
        raise ValueError(f"model {fn.__name__!r} registered twice")
    VARIANTS[fn.__name__] = fn
    return fn
