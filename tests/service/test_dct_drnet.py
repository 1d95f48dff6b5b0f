"""The DCT-domain DRNet served end to end: a tiny trained-shape model exported to ONNX, then classified over
HTTP; the answer equals torch's chosen path on the same JPEG (no decode anywhere)."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from export.onnx_export import export_model
from inputs.graphs import PREDICTOR, path_key
from inputs.kinds import graph_specs, prepare
from models.registry import create_model
from tests.support.app import make_settings, serve
from tests.support.exported import TINY, VARIANTS, randomize_bn

pytestmark = pytest.mark.anyio


@pytest.fixture
def dct_drnet_dir(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)

    model = create_model("dct_drnet", **TINY, **VARIANTS["dct_drnet"]).eval()
    randomize_bn(model)
    n = model.contract.channel_preset.num_channels
    model.set_input_stats(torch.zeros(n), torch.full((n,), 40.0))
    model.contract = model.contract.with_stats([0.0] * n, [40.0] * n)
    with torch.no_grad():  # steer the predictor by brightness, as the ONNX test models do
        model.predictor.fc.weight.zero_()
    export_model(model, "tiny-dct-drnet", tmp_path)
    return tmp_path, model


@pytest.mark.parametrize("bias", [(1.0, -1.0), (-1.0, 1.0)])
async def test_dct_drnet_answers_with_the_chosen_dct_path(
    dct_drnet_dir: tuple[Path, torch.nn.Module], jpeg_factory: Callable[..., bytes], bias: tuple[float, float]
) -> None:
    folder, model = dct_drnet_dir
    with torch.no_grad():
        model.predictor.fc.bias.copy_(torch.tensor(bias))
    export_model(model, "tiny-dct-drnet", folder)  # re-export with this predictor
    c = model.contract
    chosen = int(np.argmax(bias))
    r_px = c.resolutions[chosen]
    data = jpeg_factory(64, 64, seed=3)
    async with serve(make_settings(folder)) as (_, client):
        listed = {m["name"]: m for m in (await client.get("/v1/models")).json()["models"]}
        assert listed["tiny-dct-drnet"]["kind"] == "dct_drnet"
        r = await client.post(
            "/v1/models/tiny-dct-drnet/classify",
            content=data,
            headers={"content-type": "image/jpeg"},
            params={"top_k": 5},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resolution"] == r_px
    specs = graph_specs(c)
    assert body["input_bytes"] == specs[PREDICTOR].input_bytes + specs[path_key(r_px)].input_bytes
    feeds = prepare(c, path_key(r_px), data)
    x = tuple(torch.from_numpy(feeds[t.name][None]) for t in specs[path_key(r_px)].inputs)
    with torch.no_grad():
        probs = model.forward_path(*x, index=chosen).softmax(1)[0]
    got = {p["class_id"]: p["score"] for p in body["predictions"]}
    for cid, score in got.items():
        assert score == pytest.approx(float(probs[c.class_ids.index(cid)]), abs=1e-4)
