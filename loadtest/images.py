"""The request bodies: real JPEG files found under a folder, read once before any timing starts."""

from pathlib import Path

JPEG_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg"})


def find_jpegs(folder: Path) -> list[Path]:
    """Every ``*.jpg`` / ``*.jpeg`` (any case, e.g. ImageNet's ``.JPEG``) under ``folder``, sorted."""
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist or is not a folder")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in JPEG_SUFFIXES and p.is_file())


def load_payloads(folder: Path, limit: int | None = None) -> list[bytes]:
    """Bytes of up to ``limit`` JPEGs; reading them up front keeps disk I/O out of the measured latency."""
    paths = find_jpegs(folder)
    if not paths:
        raise FileNotFoundError(f"no *.jpg / *.jpeg files under {folder}")
    if limit is not None:
        paths = paths[:limit]
    return [p.read_bytes() for p in paths]
