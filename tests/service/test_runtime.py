"""Execution-provider choice: FREQSERVE_DEVICE=cuda must fail at start-up unless CUDA is really usable."""

import pytest

from service import runtime
from service.runtime import CPU, CUDA, ModelLoadError, intended_provider


def test_cuda_without_the_gpu_build_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.ort, "get_available_providers", lambda: [CPU])
    with pytest.raises(ModelLoadError, match="has no CUDAExecutionProvider"):
        intended_provider("cuda")


def test_cuda_with_the_gpu_build_but_no_gpu_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    # onnxruntime-gpu lists CUDA as available on a machine without any GPU.
    monkeypatch.setattr(runtime.ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(runtime, "gpu_present", lambda: False)
    with pytest.raises(ModelLoadError, match="no NVIDIA GPU is visible"):
        intended_provider("cuda")


def test_cuda_with_a_gpu_and_the_gpu_build_is_intended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(runtime, "gpu_present", lambda: True)
    assert intended_provider("cuda") == CUDA
    assert intended_provider("auto") == CUDA
    assert intended_provider("cpu") == CPU


def test_auto_falls_back_to_cpu_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(runtime, "gpu_present", lambda: False)
    assert intended_provider("auto") == CPU
