"""ONNX Runtime vs torch on real inputs, built by the serving preprocessing (``models.preprocess``)."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from models.preprocess import dct_input, rgb_input, thumbnail_input

FP32_MAX_ABS = 1e-4


class ParityError(AssertionError):
    pass


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _compare(torch_out: np.ndarray, ort_out: np.ndarray) -> dict[str, float]:
    return {
        "max_abs_diff": float(np.abs(torch_out - ort_out).max()),
        "top1_agreement": float((torch_out.argmax(1) == ort_out.argmax(1)).mean()),
        "images": int(len(torch_out)),
    }


def _batched(fn: Any, n: int, batch: int = 64) -> np.ndarray:
    return np.concatenate([fn(slice(i, i + batch)) for i in range(0, n, batch)])


@torch.no_grad()
def check_parity(model: nn.Module, onnx_paths: Sequence[Path], images: Sequence[bytes]) -> dict[str, dict[str, float]]:
    """Per ONNX file: max |logit difference| and top-1 agreement against the torch model."""
    model = model.eval()
    c = model.contract
    by_name = {Path(p).name: Path(p) for p in onnx_paths}
    report: dict[str, dict[str, float]] = {}
    if c.kind == "dct":
        xs = [dct_input(d, c) for d in images]
        feeds = {k: np.stack([getattr(x, k) for x in xs]) for k in ("luma", "chroma", "luma_q", "chroma_q")}
        sess = _session(by_name["model.onnx"])
        t = _batched(lambda s: model(*(torch.from_numpy(v[s]) for v in feeds.values())).numpy(), len(xs))
        o = _batched(lambda s: sess.run(["logits"], {k: v[s] for k, v in feeds.items()})[0], len(xs))
        report["model.onnx"] = _compare(t, o)
    elif c.kind == "rgb":
        img = np.stack([rgb_input(d, c.size, c.resize_short) for d in images])
        sess = _session(by_name["model.onnx"])
        t = _batched(lambda s: model(torch.from_numpy(img[s])).numpy(), len(img))
        o = _batched(lambda s: sess.run(["logits"], {"image": img[s]})[0], len(img))
        report["model.onnx"] = _compare(t, o)
    elif c.kind == "drnet":
        thumbs = np.stack([thumbnail_input(d, c.thumbnail) for d in images])
        sess = _session(by_name["predictor.onnx"])
        t = _batched(lambda s: model(torch.from_numpy(thumbs[s])).numpy(), len(thumbs))
        o = _batched(lambda s: sess.run(["resolution_logits"], {"thumbnail": thumbs[s]})[0], len(thumbs))
        report["predictor.onnx"] = _compare(t, o)
        for i, r in enumerate(c.resolutions):
            img = np.stack([rgb_input(d, r, c.resize_short_for(r)) for d in images])
            sess = _session(by_name[f"path_{r}.onnx"])
            t = _batched(lambda s, i=i, img=img: model.forward_path(torch.from_numpy(img[s]), i).numpy(), len(img))
            o = _batched(lambda s, sess=sess, img=img: sess.run(["logits"], {"image": img[s]})[0], len(img))
            report[f"path_{r}.onnx"] = _compare(t, o)
    return report


def assert_parity(report: dict[str, dict[str, float]], max_abs: float = FP32_MAX_ABS) -> None:
    for name, r in report.items():
        if r["max_abs_diff"] >= max_abs or r["top1_agreement"] < 1.0:
            raise ParityError(
                f"{name}: max |diff| {r['max_abs_diff']:.2e} (bar {max_abs:.0e}), "
                f"top-1 agreement {r['top1_agreement']:.4f} (bar 1.0)"
            )
