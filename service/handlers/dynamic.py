"""DRNet (``drnet``): the predictor on the DC thumbnail picks a resolution, then only that path runs.

Every graph has its own batcher, so the images routed to one path batch among themselves.
"""

import numpy as np

from inputs.graphs import PREDICTOR, path_key
from service.handlers.base import Classification, ServedModel, top_k


class DynamicResolutionModel(ServedModel):
    async def classify(self, data: bytes, k: int, deadline: float | None = None) -> Classification:
        pick = await self.run_graph(PREDICTOR, data, deadline)
        r = self.contract.resolutions[int(np.argmax(pick.outputs["resolution_logits"]))]
        key = path_key(r)
        path = await self.run_graph(key, data, deadline)
        return self.observe(
            Classification(
                top_k(path.outputs["logits"], self.contract, k),
                pick.input_bytes + path.input_bytes,
                pick.read_s + path.read_s,
                pick.timing.queue_s + path.timing.queue_s,
                pick.timing.infer_s + path.timing.infer_s,
                resolution=r,
                gflops=self.loaded.gflops[PREDICTOR] + self.loaded.gflops[key],
            )
        )
