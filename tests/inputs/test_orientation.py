"""A photo stored rotated or flipped, with the EXIF tag that undoes it, reaches every model kind as the
upright photo does, for all 8 orientations (lossless jpegtran transforms, so the DCT inputs are exact)."""

from collections.abc import Callable

import numpy as np
import pytest

from inputs.kinds import KINDS, graph_specs, prepare
from jpegdct import read_header
from jpegdct.orientation import UPRIGHT_OPS, upright_pixels
from tests.inputs.test_kinds import CONTRACTS
from tests.support.jpegs import JPEGTRAN_STORE, make_jpeg, with_orientation


def test_every_orientation_has_a_stored_form() -> None:
    assert set(JPEGTRAN_STORE) == set(UPRIGHT_OPS)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_pixel_ops_undo_the_stored_transform(orientation: int) -> None:
    upright = np.arange(6 * 10 * 3).reshape(6, 10, 3)
    stored = {
        1: upright,
        2: upright[:, ::-1],
        3: upright[::-1, ::-1],
        4: upright[::-1],
        5: upright.transpose(1, 0, 2),
        6: np.rot90(upright, 1),  # rotated 90 counter-clockwise: the tag says turn it clockwise
        7: np.rot90(upright, 2).transpose(1, 0, 2),
        8: np.rot90(upright, -1),
    }[orientation]
    np.testing.assert_array_equal(upright_pixels(stored, orientation), upright)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("orientation", range(2, 9))
def test_every_kind_sees_the_upright_photo(
    kind: str, orientation: int, jpegtran: Callable[[list[str], bytes], bytes]
) -> None:
    upright = make_jpeg(128, 96, seed=orientation, quality=90)
    stored = with_orientation(jpegtran(["-perfect", *JPEGTRAN_STORE[orientation]], upright), orientation)
    assert read_header(stored).orientation == orientation
    contract = CONTRACTS[kind]
    for key in graph_specs(contract):
        got, want = prepare(contract, key, stored), prepare(contract, key, upright)
        for name in want:
            if want[name].dtype == np.uint8:  # decoded pixels: chroma upsampling differs at the edges only
                assert np.abs(got[name].astype(int) - want[name]).mean() < 1.0, (key, name)
            else:  # coefficients and DC thumbnails: lossless
                np.testing.assert_array_equal(got[name], want[name], err_msg=f"{key} {name}")
