"""What ships in git: the bundled ONNX models and their compact checkpoints."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIMIT_BYTES = 150_000_000  # the models issue: weights in git <= 150 MB in all


def test_the_weights_in_git_stay_under_the_limit() -> None:
    files = [*(REPO / "bundled").rglob("*.onnx"), *(REPO / "checkpoints").glob("*.pt")]
    assert files
    total = sum(f.stat().st_size for f in files)
    assert total <= LIMIT_BYTES, f"{total / 1e6:.1f} MB of weights"


def test_every_bundled_model_has_its_export_report() -> None:
    folders = [d.name for d in (REPO / "bundled").iterdir() if d.is_dir() and any(d.glob("*.onnx"))]
    base = {f.removesuffix("_int8") for f in folders}
    assert base and all((REPO / "checkpoints" / f"{m}.export.json").is_file() for m in base)
