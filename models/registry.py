"""Model registry: each variant is a small factory registered by name (timm style)."""

from collections.abc import Callable
from typing import Any

from torch import nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    if fn.__name__ in _REGISTRY:
        raise ValueError(f"model {fn.__name__!r} registered twice")
    _REGISTRY[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    _import_families()
    return sorted(_REGISTRY)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered variant. Every model exposes ``.contract`` (an ``InputContract``)."""
    _import_families()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(_REGISTRY)}") from None
    return factory(**kwargs)


def _import_families() -> None:
    # Importing a family module registers its variants.
    from models import dct_resnet, drnet, rgb_resnet  # noqa: F401
