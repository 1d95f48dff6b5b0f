import pytest

from inputs.contract import InputContract
from models.registry import list_models
from tests.support.tiny_models import NUM_CLASSES, tiny


@pytest.mark.parametrize("name", list_models())
def test_contract_round_trips_through_json(name: str) -> None:
    c = tiny(name).contract.with_stats((1.0, 2.0), (3.0, 4.0))
    again = InputContract.from_json(c.to_json())
    assert again == c
    assert again.num_classes == NUM_CLASSES


def test_resize_short_keeps_the_field_of_view() -> None:
    c = InputContract(kind="drnet", class_ids=("a",), labels=("a",), size=224, resize_short=280)
    assert [c.resize_short_for(r) for r in (224, 160, 128)] == [280, 200, 160]


def test_a_contract_without_preset_says_so() -> None:
    c = InputContract(kind="rgb", class_ids=("a",), labels=("a",))
    with pytest.raises(ValueError, match="a rgb contract has no channel preset"):
        _ = c.channel_preset


def test_dct_path_is_a_plain_dct_contract_over_the_same_field_of_view() -> None:
    c = InputContract(
        kind="dct_drnet", class_ids=("a",), labels=("a",), preset="dct24", grid=(32, 32), resolutions=(256, 128)
    )
    half = c.dct_path(128)
    assert (half.kind, half.grid, half.source_short, half.resolutions, half.preset) == (
        "dct",
        (16, 16),
        160,
        (),
        "dct24",
    )
    assert c.dct_path(256).grid == (32, 32) and c.dct_path(256).source_short == 320
    with pytest.raises(ValueError, match="not one of"):
        c.dct_path(192)


def test_a_contract_built_from_lists_is_hashable_and_equals_its_tuple_twin() -> None:
    listed = InputContract(kind="dct", class_ids=["a", "b"], labels=["A", "B"], preset="dct24", grid=[32, 32])
    tupled = InputContract(kind="dct", class_ids=("a", "b"), labels=("A", "B"), preset="dct24", grid=(32, 32))
    assert listed == tupled and hash(listed) == hash(tupled)
    assert isinstance(listed.grid, tuple) and listed.chroma_grid == (16, 16)
