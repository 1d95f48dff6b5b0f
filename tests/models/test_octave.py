import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jpegdct.blocks import dct_matrix
from models.measure import count_gflops, example_inputs
from models.octave import OctConv, split_width
from tests.support.tiny_models import batch_inputs, tiny


def tiny_octave(**kw: object) -> torch.nn.Module:
    return tiny("octave_dct_resnet", **kw)


def test_the_low_octave_runs_at_half_the_high_octaves_resolution_until_the_last_stage() -> None:
    model = tiny_octave().eval()
    seen: list[tuple[tuple[int, ...], tuple[int, ...] | None]] = []
    for block in model.blocks:
        block.register_forward_hook(lambda m, i, o: seen.append((o[0].shape, None if o[1] is None else o[1].shape)))
    with torch.no_grad():
        model(*batch_inputs(model))
    last = len(seen) - sum(1 for b in model.blocks if b.bn2.l is None)
    assert last > 0 and all(low is None for _, low in seen[last:])
    for high, low in seen[:last]:
        assert low is not None and low[-2:] == (high[-2] // 2, high[-1] // 2)


def test_the_stem_reads_the_low_octave_from_pooled_luma_dc_and_native_chroma() -> None:
    model = tiny_octave().eval()
    inputs = batch_inputs(model)
    y, c = model.normalized_planes(*inputs)
    high, low = model.octave_inputs(*inputs)
    assert torch.equal(high, y)
    assert low.shape[-2:] == c.shape[-2:] == (y.shape[-2] // 2, y.shape[-1] // 2)
    assert torch.allclose(low[:, 0], F.avg_pool2d(y[:, model.dc : model.dc + 1], 2)[:, 0])
    assert torch.equal(low[:, 1:], c)
    with torch.no_grad():
        assert not torch.allclose(model(*inputs), model(inputs[0], torch.zeros_like(inputs[1]), *inputs[2:]))


def test_pooled_dc_is_the_dc_of_the_exact_2x_box_downscale() -> None:
    # Why the low octave may take the pooled luma DC: no decode, yet exact.
    rng = np.random.default_rng(0)
    pixels = rng.uniform(-128, 127, (16, 16))
    d = dct_matrix()
    dcs = [(d @ pixels[i : i + 8, j : j + 8] @ d.T)[0, 0] for i in (0, 8) for j in (0, 8)]
    box = pixels.reshape(8, 2, 8, 2).mean(axis=(1, 3))
    assert np.isclose(np.mean(dcs), (d @ box @ d.T)[0, 0])


def test_octaves_cut_the_multiply_accumulates() -> None:
    plain, octave = tiny_octave(alpha=0.0), tiny_octave(alpha=0.5)
    assert count_gflops(octave, example_inputs(octave)) < 0.7 * count_gflops(plain, example_inputs(plain))


def test_octconv_paths_follow_the_channel_split() -> None:
    conv = OctConv((4, 4), (6, 0), 3, stride=2)
    assert conv.hl is None and conv.ll is None and conv.lh is not None
    yh, yl = conv(torch.randn(2, 4, 8, 8), torch.randn(2, 4, 4, 4))
    assert yh.shape == (2, 6, 4, 4) and yl is None
    with pytest.raises(ValueError, match="stride"):
        OctConv((4, 4), (4, 4), 3, stride=3)


def test_split_width_and_grid_are_checked() -> None:
    assert split_width(64, 0.25) == (48, 16)
    with pytest.raises(ValueError, match="no high-octave"):
        split_width(4, 1.0)
    with pytest.raises(ValueError, match="multiple of 16"):
        tiny_octave(grid=(8, 8))


def test_the_model_card_structure_names_alpha() -> None:
    assert tiny_octave(alpha=0.25).structure() == {"alpha": 0.25}
    assert tiny("dct24_resnet").structure() == {}
