import json
from pathlib import Path

import pytest

from export.quantize import SUFFIX
from jpegdct.channels import PRESETS
from models.evaluate import served_name
from models.registry import list_models

REPO = Path(__file__).resolve().parents[2]
REPORTS = sorted((REPO / "checkpoints").glob("*.json"))


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("checkpoints/dct24_wide.pt", "dct24_wide"),
        ("runs/dct24_wide/final.pt", "dct24_wide"),
        ("x/y/checkpoint.pt", "y"),
    ],
)
def test_served_name_comes_from_the_checkpoint_path(path: str, name: str) -> None:
    assert served_name(path) == name


def test_there_are_committed_reports() -> None:
    assert len(REPORTS) >= 2


@pytest.mark.parametrize("report", REPORTS, ids=[p.name for p in REPORTS])
def test_committed_reports_name_what_exists(report: Path) -> None:
    """Regression: reports named a checkpoint under bundled/checkpoints/ and the wrong model."""
    doc = json.loads(report.read_text())
    name, kind = report.name.split(".")[0], report.name.split(".")[-2]
    if kind == "eval":
        assert doc["model"] == name
        assert doc["registered_model"] in list_models()
        assert (REPO / doc["checkpoint"]).is_file(), doc["checkpoint"]
    elif kind in ("export", "int8"):  # the ONNX files it wrote are the bundled ones
        folder = name if kind == "export" else f"{name}{SUFFIX}"
        assert doc["files"] and all(Path(f).parts[:2] == ("bundled", folder) for f in doc["files"])
        assert all((REPO / f).is_file() for f in doc["files"])
    elif kind == "channels":  # a learned selection: the preset in jpegdct is exactly what the gate chose
        preset = PRESETS[doc["preset"]["name"]]
        assert (list(preset.luma), list(preset.chroma)) == (doc["preset"]["luma"], doc["preset"]["chroma"])
    else:
        raise AssertionError(f"unknown report kind {kind!r}: add its check here")
