import pytest
import torch
import torch.nn.functional as F

from tests.support.tiny_models import NUM_CLASSES, batch_inputs, tiny


def tiny_dct(**kw: object) -> torch.nn.Module:
    return tiny("dct24_resnet", **kw)


@pytest.mark.parametrize("merge", ["upsample", "late"])
def test_chroma_merges_train_every_parameter_and_use_the_chroma(merge: str) -> None:
    torch.manual_seed(0)
    model = tiny_dct(chroma_merge=merge).train()
    luma, chroma, lq, cq = batch_inputs(model)
    logits = model(luma, chroma, lq, cq)
    assert logits.shape == (3, NUM_CLASSES) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    model.eval()
    with torch.no_grad():
        assert not torch.allclose(model(luma, chroma, lq, cq), model(luma, torch.zeros_like(chroma), lq, cq))


def test_late_merge_takes_only_luma_in_the_stem() -> None:
    model = tiny_dct(chroma_merge="late")
    assert model.stem[0].in_channels == model.n_luma
    assert model.chroma_stem[0].in_channels == model.contract.channel_preset.num_channels - model.n_luma


def test_unknown_chroma_merge_is_refused() -> None:
    with pytest.raises(ValueError, match="chroma_merge"):
        tiny_dct(chroma_merge="sideways")


def test_late_merge_refuses_strides_that_miss_the_chroma_grid() -> None:
    with pytest.raises(ValueError, match="chroma grid"):
        tiny_dct(chroma_merge="late", strides=(1, 1, 2, 2))
    tiny_dct(chroma_merge="late", strides=(2, 1, 2, 2))  # halves once: allowed
