"""Image-folder datasets: scanning, a stratified seeded split, and an on-disk cache of model inputs.

The cache holds exactly what ``inputs`` produces (the functions the server runs), with a margin
around the centre for random-crop augmentation, so training sees what serving sees.
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inputs.contract import InputContract
from inputs.dct import dct_input
from inputs.rgb import rgb_input
from inputs.thumbnail import thumbnail_input

JPEG_SUFFIXES = {".jpg", ".jpeg"}

# Human-readable names of the Imagewoof classes (ImageNet wnids); other datasets fall back to folder names.
IMAGEWOOF_NAMES = {
    "n02086240": "Shih-Tzu",
    "n02087394": "Rhodesian ridgeback",
    "n02088364": "beagle",
    "n02089973": "English foxhound",
    "n02093754": "Border terrier",
    "n02096294": "Australian terrier",
    "n02099601": "golden retriever",
    "n02105641": "Old English sheepdog",
    "n02111889": "Samoyed",
    "n02115641": "dingo",
}


@dataclass(frozen=True)
class ImageFolder:
    files: tuple[Path, ...]
    targets: np.ndarray  # int64 class index per file
    class_ids: tuple[str, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(IMAGEWOOF_NAMES.get(c, c) for c in self.class_ids)


def scan_folder(root: str | Path) -> ImageFolder:
    """``root/<class_id>/*.jpg`` -> files sorted by class then name."""
    root = Path(root)
    class_ids = tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
    if not class_ids:
        raise FileNotFoundError(f"no class sub-folders in {root}")
    files: list[Path] = []
    targets: list[int] = []
    for i, cid in enumerate(class_ids):
        for f in sorted((root / cid).iterdir()):
            if f.suffix.lower() in JPEG_SUFFIXES:
                files.append(f)
                targets.append(i)
    return ImageFolder(tuple(files), np.array(targets, dtype=np.int64), class_ids)


def stratified_split(targets: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class, a seeded random ``val_fraction`` goes to validation. Returns sorted (train, val) indices."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(targets):
        idx = np.flatnonzero(targets == c)
        rng.shuffle(idx)
        n_val = int(round(len(idx) * val_fraction))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def _map(fn: Callable[[bytes], object], files: Sequence[Path], threads: int = 2) -> list:
    def one(path: Path) -> object:
        return fn(path.read_bytes())

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, files, chunksize=64))


def _cache_key(files: Sequence[Path], spec: str) -> str:
    h = hashlib.sha1(spec.encode())
    for f in files:
        h.update(str(f).encode())
        h.update(str(f.stat().st_size).encode())
    return h.hexdigest()[:16]


def cached_arrays(
    files: Sequence[Path], spec: str, build: Callable[[bytes], dict[str, np.ndarray]], cache_dir: Path
) -> dict[str, np.ndarray]:
    """Stack ``build(bytes)`` over files, memoized as .npy files under ``cache_dir/<spec>-<hash>/``."""
    folder = Path(cache_dir) / f"{spec}-{_cache_key(files, spec)}"
    meta = folder / "meta.json"
    if meta.exists():
        names = json.loads(meta.read_text())["arrays"]
        return {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in names}
    items = _map(build, files)
    arrays = {k: np.stack([it[k] for it in items]) for k in items[0]}
    folder.mkdir(parents=True, exist_ok=True)
    for k, v in arrays.items():
        np.save(folder / f"{k}.npy", v)
    meta.write_text(json.dumps({"arrays": sorted(arrays), "count": len(files), "spec": spec}))
    return arrays


def dct_arrays(files: Sequence[Path], contract: InputContract, margin: int, cache_dir: Path) -> dict[str, np.ndarray]:
    """DCT inputs on a grid ``margin`` blocks larger than the contract's (for random crops)."""
    gh, gw = contract.grid
    # Everything but the grid from the contract: its source scale decides the DCT-domain downscale (a
    # DCT-domain DRNet's half path reads photos downscaled 2x), so it is part of the cache key too.
    big = InputContract(
        kind="dct",
        class_ids=("x",),
        labels=("x",),
        preset=contract.preset,
        grid=(gh + margin, gw + margin),
        source_short=contract.source_short,
    )

    def build(data: bytes) -> dict[str, np.ndarray]:
        return dct_input(data, big).feeds()

    spec = f"dct-{contract.preset}-{gh + margin}x{gw + margin}-s{contract.source_short}"
    return cached_arrays(files, spec, build, cache_dir)


def rgb_arrays(files: Sequence[Path], resize_short: int, cache_dir: Path) -> dict[str, np.ndarray]:
    """Square ``resize_short`` centre crops (the random-crop margin around the served ``size`` crop)."""
    return cached_arrays(
        files, f"rgb-{resize_short}", lambda d: {"image": rgb_input(d, resize_short, resize_short)}, cache_dir
    )


def thumbnail_arrays(files: Sequence[Path], size: int, cache_dir: Path) -> dict[str, np.ndarray]:
    return cached_arrays(files, f"thumb-{size}", lambda d: {"thumbnail": thumbnail_input(d, size)}, cache_dir)
