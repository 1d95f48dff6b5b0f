"""One handler per model kind: the only place the service tells kinds apart.

A new kind is one entry in ``inputs.kinds.KINDS`` (its graphs and tensors) and one entry here.
"""

from service.handlers.base import Classification, Prediction, ServedModel
from service.handlers.dynamic import DynamicResolutionModel
from service.handlers.single import SingleGraphModel
from service.metrics import Metrics
from service.reader import ReaderPool
from service.registry import LoadedModel
from service.settings import Settings

HANDLERS: dict[str, type[ServedModel]] = {
    "dct": SingleGraphModel,
    "rgb": SingleGraphModel,
    "drnet": DynamicResolutionModel,
    "dct_drnet": DynamicResolutionModel,
}


def serve_model(loaded: LoadedModel, settings: Settings, reader: ReaderPool, metrics: Metrics) -> ServedModel:
    return HANDLERS[loaded.kind](loaded, settings, reader, metrics)


__all__ = ["HANDLERS", "Classification", "Prediction", "ServedModel", "serve_model"]
