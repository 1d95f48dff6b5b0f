"""The DCT-domain DRNet: shared convolutions, one BN set per path, paths on halved block grids."""

import torch
import torch.nn.functional as F

from inputs.graphs import PREDICTOR, path_key
from inputs.kinds import graph_specs
from models.dct_drnet import DCTDRNet
from models.drnet import DRNetPath
from models.measure import count_gflops, example_inputs
from tests.support.tiny_models import NUM_CLASSES, batch_inputs, tiny


def test_paths_are_the_native_grid_and_its_halves() -> None:
    model: DCTDRNet = tiny("dct_drnet", resolutions=(64, 32, 16))
    specs = graph_specs(model.contract)
    luma = {k.resolution: s.inputs[0].shape for k, s in specs.items() if k != PREDICTOR}
    assert luma == {64: (16, 8, 8), 32: (16, 4, 4), 16: (16, 2, 2)}


def test_every_parameter_gets_a_gradient_from_some_path_or_the_predictor() -> None:
    torch.manual_seed(0)
    model: DCTDRNet = tiny("dct_drnet").train()
    y = torch.tensor([0, 1])
    loss = sum(
        F.cross_entropy(model.forward_path(*batch_inputs(model, 2, path_key(r)), index=i), y)
        for i, r in enumerate(model.contract.resolutions)
    )
    loss = loss + model(torch.rand(2, 3, 8, 8) * 255).sum()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_graph_modules_match_forward_path_and_the_half_path_costs_a_quarter() -> None:
    torch.manual_seed(0)
    model: DCTDRNet = tiny("dct_drnet", widths=(16, 16, 16, 16)).eval()
    modules = model.graph_modules()
    assert list(modules) == [PREDICTOR, path_key(64), path_key(32)]
    flops = {}
    for i, r in enumerate(model.contract.resolutions):
        path = modules[path_key(r)]
        assert isinstance(path, DRNetPath)
        x = batch_inputs(model, 2, path_key(r))
        with torch.no_grad():
            out = path(*x)
            torch.testing.assert_close(out, model.forward_path(*x, index=i))
        assert out.shape == (2, NUM_CLASSES)
        flops[r] = count_gflops(path, example_inputs(model, path_key(r), 1))
    # Convolutions dominate and scale with the grid's area; only the head and the tiny stems do not.
    assert 0.2 < flops[32] / flops[64] < 0.3


def test_paths_have_their_own_batchnorms() -> None:
    model: DCTDRNet = tiny("dct_drnet").train()
    x = batch_inputs(model, 4, path_key(32))
    model.forward_path(*x, index=1)
    bn = model.stem[1]
    assert bn.bns[1].num_batches_tracked.item() == 1 and bn.bns[0].num_batches_tracked.item() == 0
