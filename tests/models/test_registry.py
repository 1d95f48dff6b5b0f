import pytest
import torch
import torch.nn.functional as F

from models.contract import InputContract
from models.drnet import DRNet, predictor_loss
from models.evaluate import example_inputs
from models.registry import create_model, list_models

TINY = {"widths": (8, 8, 16, 16), "depths": (1, 1, 1, 1)}
NUM_CLASSES = 7


def tiny(name: str, **extra: object) -> torch.nn.Module:
    """A tiny instance of a registered model; ``extra`` kwargs override or add to the tiny defaults."""
    kw: dict[str, object] = dict(TINY)
    if name.startswith("dct"):
        kw["grid"] = (8, 8)
    elif name.startswith("rgb"):
        kw.update(size=64, resize_short=80)
    elif name.startswith("drnet"):
        kw.update(resolutions=(64, 48, 32), resize_short=80, thumbnail=8)
    return create_model(name, num_classes=NUM_CLASSES, **(kw | extra))


def batch_inputs(model: torch.nn.Module, n: int = 3) -> tuple[torch.Tensor, ...]:
    c = model.contract
    if c.kind == "dct":
        ex = example_inputs(model)
        luma = torch.randint(-60, 60, (n, *ex[0].shape[1:]), dtype=torch.int16)
        chroma = torch.randint(-20, 20, (n, *ex[1].shape[1:]), dtype=torch.int16)
        return luma, chroma, torch.rand(n, ex[2].shape[1]) * 10 + 1, torch.rand(n, ex[3].shape[1]) * 10 + 1
    return (torch.randint(0, 256, (n, c.size, c.size, 3), dtype=torch.uint8),)


def test_registry_lists_the_three_families() -> None:
    names = list_models()
    assert {"dct24_resnet", "rgb_resnet", "drnet_resnet"} <= set(names)


def test_unknown_model_names_the_registered_ones() -> None:
    with pytest.raises(KeyError, match="dct24_resnet"):
        create_model("nope")


@pytest.mark.parametrize("name", [n for n in list_models() if not n.startswith("drnet")])
def test_classifier_shapes_finite_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    model = tiny(name).train()
    logits = model(*batch_inputs(model))
    assert logits.shape == (3, NUM_CLASSES)
    assert torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing
    assert model.contract.num_classes == NUM_CLASSES


def test_drnet_every_parameter_gets_a_gradient() -> None:
    torch.manual_seed(0)
    model: DRNet = tiny("drnet_resnet").train()
    c = model.contract
    y = torch.tensor([0, 1, 2])
    loss = sum(
        F.cross_entropy(model.forward_path(torch.randint(0, 256, (3, r, r, 3), dtype=torch.uint8), i), y)
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

    def images(index: int, rows: torch.Tensor) -> torch.Tensor:
        requested.append((index, len(rows)))
        r = c.resolutions[index]
        return torch.randint(0, 256, (len(rows), r, r, 3), dtype=torch.uint8)

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
    from models.drnet import flops_constraint

    flops = torch.tensor([1.0, 0.5, 0.25])
    cheap = torch.tensor([[0.0, 0.0, 1.0]])
    full = torch.tensor([[1.0, 0.0, 0.0]])
    assert flops_constraint(cheap, flops, 0.5).item() == 0.0
    assert flops_constraint(full, flops, 0.5).item() > 0.0


@pytest.mark.parametrize("name", list_models())
def test_contract_round_trips_through_json(name: str) -> None:
    c = tiny(name).contract.with_stats((1.0, 2.0), (3.0, 4.0))
    again = InputContract.from_json(c.to_json())
    assert again == c
    assert again.num_classes == NUM_CLASSES


def test_dct_contract_input_bytes_beat_rgb_224() -> None:
    c = create_model("dct24_resnet").contract
    assert c.input_bytes() == 2 * (16 * 32 * 32 + 8 * 16 * 16) + 4 * 24
    assert c.input_bytes() < 224 * 224 * 3
