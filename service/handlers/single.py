"""Kinds with one graph (``dct``, ``rgb``): decode -> classifier -> top-k."""

from inputs.graphs import CLASSIFIER
from service.handlers.base import Classification, ServedModel, top_k


class SingleGraphModel(ServedModel):
    @property
    def input_bytes(self) -> int:
        return self.specs[CLASSIFIER].input_bytes

    async def classify(self, data: bytes, k: int, deadline: float | None = None) -> Classification:
        run = await self.run_graph(CLASSIFIER, data, deadline)
        t = run.timing
        predictions = top_k(run.outputs["logits"], self.contract, k)
        return self.observe(Classification(predictions, run.input_bytes, run.read_s, t.queue_s, t.infer_s))
