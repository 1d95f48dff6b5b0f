from pathlib import Path

import numpy as np

from models.train.data import scan_folder, stratified_split


def test_stratified_split_is_seeded_disjoint_and_per_class() -> None:
    targets = np.repeat(np.arange(4), [10, 20, 30, 40])
    tr, va = stratified_split(targets, 0.1, seed=3)
    tr2, va2 = stratified_split(targets, 0.1, seed=3)
    assert np.array_equal(va, va2) and np.array_equal(tr, tr2)
    assert not set(tr) & set(va)
    assert len(tr) + len(va) == len(targets)
    assert np.bincount(targets[va]).tolist() == [1, 2, 3, 4]
    _, va3 = stratified_split(targets, 0.1, seed=4)
    assert not np.array_equal(va, va3)


def test_scan_folder_finds_classes_and_jpegs(tiny_dataset: Path) -> None:
    data = scan_folder(tiny_dataset)
    assert len(data.class_ids) == 3
    assert len(data.files) == 24
    assert np.bincount(data.targets).tolist() == [8, 8, 8]
