"""The frozen input contract each model variant carries (torch-free).

Training, export and serving all read it: which DCT channels, which block grid or pixel size, the
normalization statistics and the class labels. It travels inside the ONNX file as JSON metadata
(``inputs.metadata``); the tensors it implies for each graph are listed once per kind in ``inputs.kinds``.
"""

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from jpegdct.channels import ChannelPreset, get_preset

Kind = Literal["dct", "rgb", "drnet", "dct_drnet"]


@dataclass(frozen=True)
class InputContract:
    kind: Kind
    class_ids: tuple[str, ...]  # dataset ids, e.g. ImageNet wnids
    labels: tuple[str, ...]  # human-readable names, same order
    # DCT models: channel preset and luma block grid (chroma is on the 4:2:0 grid, half of it).
    preset: str | None = None
    grid: tuple[int, int] = (32, 32)
    # Short side (px) of the training photos: larger JPEGs are downscaled toward it in the DCT domain.
    source_short: int = 320
    # RGB models and DRNet paths: output square size after resizing the short side to resize_short.
    size: int = 224
    resize_short: int = 280
    # DRNet: candidate resolutions, largest first, and the DC-thumbnail grid of the predictor. For the
    # DCT-domain DRNet a resolution is the crop side in px at the model's scale: grid = resolution / 8.
    resolutions: tuple[int, ...] = ()
    thumbnail: int = 32
    # Per-channel statistics of the network input (dequantized DCT or 0..255 RGB), from the training split.
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        # Sequences as tuples whatever the caller passed (JSON gives lists): contracts are hashable, so the
        # read plans and resampling geometries cached per (photo layout, contract) work for any of them.
        for key in _SEQUENCES:
            object.__setattr__(self, key, tuple(getattr(self, key)))

    @property
    def num_classes(self) -> int:
        return len(self.class_ids)

    @property
    def channel_preset(self) -> ChannelPreset:
        if self.preset is None:
            raise ValueError(f"a {self.kind} contract has no channel preset")
        return get_preset(self.preset)

    @property
    def chroma_grid(self) -> tuple[int, int]:
        return self.grid[0] // 2, self.grid[1] // 2

    def resize_short_for(self, resolution: int) -> int:
        """Keep the same field of view at every resolution (size / resize_short is constant)."""
        return round(resolution * self.resize_short / self.size)

    def dct_path(self, resolution: int) -> "InputContract":
        """A DCT-domain DRNet's path at ``resolution`` as a plain DCT contract: a ``resolution / 8`` block
        grid over the same field of view, i.e. photos downscaled (in the DCT domain, by a power of two)
        toward a short side ``source_short * resolution / resolutions[0]``."""
        if resolution % 8 or resolution not in self.resolutions:
            raise ValueError(f"{resolution} is not one of this contract's resolutions {self.resolutions}")
        side = resolution // 8
        short = round(self.source_short * resolution / self.resolutions[0])
        return replace(self, kind="dct", grid=(side, side), source_short=short, resolutions=())

    def with_stats(self, mean: tuple[float, ...], std: tuple[float, ...]) -> "InputContract":
        return replace(self, mean=tuple(float(m) for m in mean), std=tuple(float(s) for s in std))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "InputContract":
        return cls(**json.loads(text))


_SEQUENCES = ("class_ids", "labels", "grid", "resolutions", "mean", "std")
