"""Trained torch models -> ONNX files that carry their input contract (opset 17, dynamic batch).

DCT graphs take the quantized int16 coefficients of the selected channels and the per-channel quantization
steps; dequantization, normalization and chroma upsampling run inside the graph. RGB graphs take uint8
NHWC pixels. DRNet becomes a predictor graph plus one graph per resolution, each with its
resolution's BatchNorm folded into the convolutions, so a server runs the predictor and then one path.
"""

import copy
import io
import json
from pathlib import Path

import onnx
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from models.drnet import DRNet, ResolutionBN
from models.evaluate import count_gflops, example_inputs
from models.resnet import InputStats

OPSET = 17
DCT_INPUTS = ("luma", "chroma", "luma_q", "chroma_q")


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every BatchNorm that directly follows a Conv2d (same Sequential or conv<k>/bn<k> pair) into it."""
    module = copy.deepcopy(module).eval()

    def fold_in(parent: nn.Module) -> None:
        names = list(parent._modules)
        for i, name in enumerate(names):
            child = parent._modules[name]
            if isinstance(child, nn.BatchNorm2d):
                prev = None
                if i > 0 and isinstance(parent._modules[names[i - 1]], nn.Conv2d):
                    prev = names[i - 1]
                elif name.startswith("bn") and isinstance(parent._modules.get("conv" + name[2:]), nn.Conv2d):
                    prev = "conv" + name[2:]
                if prev is not None:
                    parent._modules[prev] = fuse_conv_bn_eval(parent._modules[prev], child)
                    parent._modules[name] = nn.Identity()
            elif child is not None:
                fold_in(child)

    fold_in(module)
    return module


class _DRNetPath(InputStats):
    """One DRNet resolution as a plain network: its BNs selected, then folded into the convs."""

    def __init__(self, model: DRNet, index: int) -> None:
        super().__init__()
        m = copy.deepcopy(model).eval()
        for parent in m.modules():
            for name, child in list(parent._modules.items()):
                if isinstance(child, ResolutionBN):
                    parent._modules[name] = child.bns[index]
        self._init_stats(m.mean.flatten().tolist(), m.std.flatten().tolist())
        folded = fold_batchnorm(nn.ModuleDict({"stem": m.stem, "body": m.body}))
        self.stem, self.body = folded["stem"], folded["body"]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.body(self.stem(self.normalize_rgb(image)))


def _export(
    module: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_name: str,
    metadata: dict[str, str],
    path: Path,
) -> Path:
    module = module.eval()
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            module,
            inputs,
            buf,
            input_names=input_names,
            output_names=[output_name],
            opset_version=OPSET,
            dynamic_axes={n: {0: "N"} for n in [*input_names, output_name]},
            dynamo=False,
            do_constant_folding=True,
        )
    proto = onnx.load_from_string(buf.getvalue())
    for k, v in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(proto, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def _meta(model: nn.Module, name: str, role: str, gflops: float, resolution: int | None = None) -> dict[str, str]:
    meta = {
        "freqserve.contract": model.contract.to_json(),
        "freqserve.name": name,
        "freqserve.role": role,
        "freqserve.gflops": json.dumps(round(gflops, 6)),
    }
    if resolution is not None:
        meta["freqserve.resolution"] = str(resolution)
    return meta


def export_model(model: nn.Module, name: str, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/<name>/`` (see docs_interfaces.md). Returns the written ONNX paths."""
    folder = Path(out_dir) / name
    model = model.eval()
    c = model.contract
    if c.kind == "dct":
        inputs = example_inputs(model)
        batch2 = tuple(torch.cat([t, t]) for t in inputs)
        return [
            _export(
                model,
                batch2,
                list(DCT_INPUTS),
                "logits",
                _meta(model, name, "classifier", count_gflops(model, inputs)),
                folder / "model.onnx",
            )
        ]
    if c.kind == "rgb":
        folded = fold_batchnorm(model)
        image = torch.zeros(2, c.size, c.size, 3, dtype=torch.uint8)
        return [
            _export(
                folded,
                (image,),
                ["image"],
                "logits",
                _meta(model, name, "classifier", count_gflops(model, (image[:1],))),
                folder / "model.onnx",
            )
        ]
    if c.kind == "drnet":
        thumb = torch.full((2, 3, c.thumbnail, c.thumbnail), 128.0)
        predictor = fold_batchnorm(model.predictor)
        paths = [
            _export(
                _PredictorWrapper(predictor),
                (thumb,),
                ["thumbnail"],
                "resolution_logits",
                _meta(model, name, "predictor", count_gflops(model.predictor, (thumb[:1],))),
                folder / "predictor.onnx",
            )
        ]
        for i, r in enumerate(c.resolutions):
            path_model = _DRNetPath(model, i)
            image = torch.zeros(2, r, r, 3, dtype=torch.uint8)
            paths.append(
                _export(
                    path_model,
                    (image,),
                    ["image"],
                    "logits",
                    _meta(model, name, "path", count_gflops(path_model, (image[:1],)), r),
                    folder / f"path_{r}.onnx",
                )
            )
        return paths
    raise ValueError(f"cannot export a model of kind {c.kind!r}")


class _PredictorWrapper(nn.Module):
    def __init__(self, predictor: nn.Module) -> None:
        super().__init__()
        self.predictor = predictor

    def forward(self, thumbnail: torch.Tensor) -> torch.Tensor:
        return self.predictor(thumbnail)
