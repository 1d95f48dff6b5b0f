"""DRNet: resolution-aware BNs, the predictor, the FLOPs constraint, per-resolution graphs."""

import torch
import torch.nn.functional as F

from inputs.graphs import PREDICTOR, path_key
from models.drnet import DRNet, DRNetPath, flops_constraint, predictor_loss
from tests.support.tiny_models import NUM_CLASSES, tiny


def test_drnet_every_parameter_gets_a_gradient() -> None:
    torch.manual_seed(0)
    model: DRNet = tiny("drnet_resnet").train()
    c = model.contract
    y = torch.tensor([0, 1, 2])
    loss = sum(
        F.cross_entropy(model.forward_path(torch.randint(0, 256, (3, r, r, 3), dtype=torch.uint8), index=i), y)
        for i, r in enumerate(c.resolutions)
    )
    path_losses = torch.rand(3, len(c.resolutions))
    ploss, onehot = predictor_loss(
        model(torch.rand(3, 3, c.thumbnail, c.thumbnail) * 255),
        path_losses,
        torch.tensor([1.0, 0.5, 0.25]),
        target=0.3,
        weight=10.0,
    )
    assert onehot.sum(1).eq(1).all()
    (loss + ploss).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def test_drnet_inference_computes_only_the_chosen_resolution() -> None:
    torch.manual_seed(0)
    model: DRNet = tiny("drnet_resnet").eval()
    c = model.contract
    n = 6
    requested: list[tuple[int, int]] = []

    def images(index: int, rows: torch.Tensor) -> tuple[torch.Tensor]:
        requested.append((index, len(rows)))
        r = c.resolutions[index]
        return (torch.randint(0, 256, (len(rows), r, r, 3), dtype=torch.uint8),)

    # Steer the predictor: bias the last layer so images split across two resolutions.
    with torch.no_grad():
        model.predictor.fc.weight.zero_()
        model.predictor.fc.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    thumbs = torch.rand(n, 3, c.thumbnail, c.thumbnail) * 255
    logits, choice = model.classify(thumbs, images)
    assert logits.shape == (n, NUM_CLASSES)
    assert choice.tolist() == [1] * n
    assert requested == [(1, n)]
    assert model.path_calls == [0, n, 0]  # each image went through exactly one path


def test_flops_constraint_is_zero_under_target_and_positive_above() -> None:
    flops = torch.tensor([1.0, 0.5, 0.25])
    cheap = torch.tensor([[0.0, 0.0, 1.0]])
    full = torch.tensor([[1.0, 0.0, 0.0]])
    assert flops_constraint(cheap, flops, 0.5).item() == 0.0
    assert flops_constraint(full, flops, 0.5).item() > 0.0


def test_graph_modules_are_the_predictor_and_one_plain_path_per_resolution() -> None:
    torch.manual_seed(0)
    model: DRNet = tiny("drnet_resnet").eval()
    c = model.contract
    modules = model.graph_modules()
    assert list(modules) == [PREDICTOR, *(path_key(r) for r in c.resolutions)]
    assert modules[PREDICTOR] is model.predictor
    for i, r in enumerate(c.resolutions):
        path = modules[path_key(r)]
        assert isinstance(path, DRNetPath)
        image = torch.randint(0, 256, (2, r, r, 3), dtype=torch.uint8)
        with torch.no_grad():
            torch.testing.assert_close(path(image), model.forward_path(image, index=i))
