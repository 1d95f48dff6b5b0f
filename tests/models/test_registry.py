import pytest
import torch
import torch.nn.functional as F

from models.drnet import DynamicResolution
from models.registry import create_model, list_models
from tests.support.tiny_models import NUM_CLASSES, batch_inputs, tiny


def test_registry_lists_the_three_families() -> None:
    names = list_models()
    assert {"dct24_resnet", "rgb_resnet", "drnet_resnet"} <= set(names)


def test_unknown_model_names_the_registered_ones() -> None:
    with pytest.raises(KeyError, match="dct24_resnet"):
        create_model("nope")


@pytest.mark.parametrize("name", [n for n in list_models() if not isinstance(create_model(n), DynamicResolution)])
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
