from pathlib import Path

import numpy as np

from models.train.batches import path_batches
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


def test_every_drnet_path_trains_on_what_the_server_prepares(tiny_dataset: Path, tmp_path: Path) -> None:
    """Regression: the training cache dropped the path's source scale, so the DCT-domain DRNet's half path
    trained on a native-scale crop while the server sent it the 2x DCT-domain downscale."""
    from dataclasses import replace

    from inputs.graphs import path_key
    from inputs.kinds import prepare
    from tests.support.onnx_models import DCT_DRNET

    # The bundled geometry (grids 32 and 16, training margins 8 and 4 blocks) with a source scale that makes
    # the tiny photos (96-152 px) need the half path's 2x downscale. (Smaller grids would give the half path
    # a 2-block margin, which has no chroma-aligned centre.)
    c = replace(DCT_DRNET, grid=(32, 32), resolutions=(256, 128), source_short=112)
    files = list(scan_folder(tiny_dataset).files)[:6]
    for i, batches in enumerate(path_batches(c, files, tmp_path)):
        key = path_key(c.resolutions[i])
        luma, chroma, luma_q, chroma_q = (t.numpy() for t in batches.get(np.arange(len(files)), None))
        for j, f in enumerate(files):
            served = prepare(c, key, f.read_bytes())
            np.testing.assert_array_equal(luma[j], served["luma"], err_msg=f"{key} {f.name}")
            np.testing.assert_array_equal(chroma[j], served["chroma"])
            np.testing.assert_array_equal(luma_q[j], served["luma_q"])
