import json
from pathlib import Path

import pytest

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
    name = report.name.split(".")[0]
    if report.name.endswith(".eval.json"):
        assert doc["model"] == name
        assert doc["registered_model"] in list_models()
        assert (REPO / doc["checkpoint"]).is_file(), doc["checkpoint"]
    else:  # export report: the ONNX files it wrote are the bundled ones
        assert doc["files"] and all(Path(f).parts[:2] == ("bundled", name) for f in doc["files"])
        assert all((REPO / f).is_file() for f in doc["files"])
