import math

import pytest
import torch
import torch.nn.functional as F

from models.dynopool import DynOPool, resample_matrix
from tests.support.tiny_models import NUM_CLASSES, batch_inputs, tiny


def tiny_dynopool(**kw: object) -> torch.nn.Module:
    return tiny("dynopool_dct_resnet", grid=(16, 16), **kw)


def test_at_ratio_one_half_the_resize_is_2x2_average_pooling() -> None:
    pool = DynOPool()
    with torch.no_grad():
        pool.log_ratio.fill_(math.log(0.5))
    x = torch.randn(2, 3, 8, 12)
    assert torch.allclose(pool(x), F.avg_pool2d(x, 2), atol=1e-6)


@pytest.mark.parametrize(("n_in", "ratio"), [(16, 0.5), (16, 0.37), (13, 0.8), (32, 0.26)])
def test_resample_rows_are_averages_of_the_input(n_in: int, ratio: float) -> None:
    n_out = round(ratio * n_in)
    m = resample_matrix(n_in, torch.tensor(ratio), n_out)
    assert m.shape == (n_out, n_in)
    assert (m >= 0).all() and torch.allclose(m.sum(1), torch.ones(n_out))


def test_each_axis_has_its_own_learned_size() -> None:
    pool = DynOPool()
    with torch.no_grad():
        pool.log_ratio.copy_(torch.tensor([math.log(0.75), math.log(0.25)]))
    assert pool(torch.randn(1, 2, 16, 16)).shape == (1, 2, 12, 4)


def test_the_task_loss_reaches_the_ratios() -> None:
    torch.manual_seed(0)
    model = tiny_dynopool().train()
    F.cross_entropy(model(*batch_inputs(model)), torch.tensor([0, 1, 2])).backward()
    assert all(p.log_ratio.grad is not None and p.log_ratio.grad.abs().sum() > 0 for p in model.pools)


def test_frozen_sizes_reproduce_the_trained_modules_outputs() -> None:
    torch.manual_seed(0)
    model = tiny_dynopool(chroma_merge="late").train()
    with torch.no_grad():
        model.pools[0].log_ratio.copy_(torch.tensor([math.log(0.6), math.log(0.45)]))
    model(*batch_inputs(model))  # some BatchNorm statistics
    model.eval()
    inputs = batch_inputs(model)
    frozen = model.frozen()
    assert all(p.frozen is not None for p in frozen.pools) and all(p.frozen is None for p in model.pools)
    with torch.no_grad():
        assert torch.allclose(frozen(*inputs), model(*inputs), atol=1e-5)
    with pytest.raises(ValueError, match="frozen for"):
        frozen.pools[0](torch.randn(1, 8, 9, 9))


def test_learned_sizes_start_as_the_plain_bodys_and_report_each_pool() -> None:
    rows = tiny_dynopool().learned_sizes()
    assert [r["output"] for r in rows] == [[8, 8], [4, 4], [2, 2]]
    assert [r["input"] for r in rows][1:] == [r["output"] for r in rows][:-1]


def test_the_budget_penalizes_excess_cost_and_pushes_the_ratios_down() -> None:
    model = tiny_dynopool(budget=0.5, penalty=1.0)
    assert math.isclose(float(model.cost_fraction().detach()), 1.0, rel_tol=0.01)
    start = [p.ratios().detach() for p in model.pools]
    opt = torch.optim.SGD([p.log_ratio for p in model.pools], lr=0.5)
    before = float(model.auxiliary_loss())
    for _ in range(20):
        opt.zero_grad()
        model.auxiliary_loss().backward()
        opt.step()
    assert before > 0 and float(model.cost_fraction().detach()) < 0.95
    assert all((p.ratios() < r).all() for p, r in zip(model.pools, start, strict=True))
    assert tiny_dynopool(budget=None).auxiliary_loss() is None
    assert float(tiny_dynopool(budget=2.0).auxiliary_loss()) == 0.0


def test_the_ratios_train_faster_and_without_weight_decay() -> None:
    from models.train.loop import param_groups

    model = tiny_dynopool(ratio_lr=5.0)
    groups = param_groups(model, weight_decay=0.05, lr=1e-3)
    fast = [g for g in groups if g["lr"] == 5e-3]
    assert {id(p) for g in fast for p in g["params"]} == {id(p.log_ratio) for p in model.pools}
    assert all(g["weight_decay"] == 0.0 for g in fast)
    assert model.contract.num_classes == NUM_CLASSES


def test_the_model_card_structure_names_the_learned_sizes_and_cost() -> None:
    model = tiny_dynopool()
    facts = model.structure()
    assert facts["learned_sizes"] == model.learned_sizes()
    assert math.isclose(facts["cost_fraction"], 1.0, rel_tol=0.01)
