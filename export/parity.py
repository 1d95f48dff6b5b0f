"""ONNX Runtime vs torch on real inputs, built by the serving preprocessing (``inputs.kinds``), per graph."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from inputs.kinds import graph_specs
from jpegdct.reader import DEFAULT_LIMITS

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


@torch.no_grad()
def check_parity(
    model: nn.Module, onnx_paths: Sequence[Path], images: Sequence[bytes], batch: int = 64
) -> dict[str, dict[str, float]]:
    """Per ONNX file: max |output difference| and top-1 agreement against the torch module of its graph."""
    model = model.eval()
    by_name = {Path(p).name: Path(p) for p in onnx_paths}
    modules = model.graph_modules()
    report: dict[str, dict[str, float]] = {}
    for key, spec in graph_specs(model.contract).items():
        items = [spec.prepare(d, DEFAULT_LIMITS) for d in images]
        feeds = {t.name: np.stack([x[t.name] for x in items]) for t in spec.inputs}
        sess = _session(by_name[key.file_name])
        module = modules[key].eval()
        t_out, o_out = [], []
        for i in range(0, len(items), batch):
            part = {k: v[i : i + batch] for k, v in feeds.items()}
            t_out.append(module(*(torch.from_numpy(part[t.name]) for t in spec.inputs)).numpy())
            o_out.append(sess.run([spec.output], part)[0])
        report[key.file_name] = _compare(np.concatenate(t_out), np.concatenate(o_out))
    return report


def assert_parity(report: dict[str, dict[str, float]], max_abs: float = FP32_MAX_ABS) -> None:
    for name, r in report.items():
        if r["max_abs_diff"] >= max_abs or r["top1_agreement"] < 1.0:
            raise ParityError(
                f"{name}: max |diff| {r['max_abs_diff']:.2e} (bar {max_abs:.0e}), "
                f"top-1 agreement {r['top1_agreement']:.4f} (bar 1.0)"
            )
