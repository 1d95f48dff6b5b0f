"""Training cost per step of each bundled body (not a test): forward + backward + AdamW step on a batch of
64 random inputs of the model's own contract, on this CPU, same process, same threads.

What sets the epoch counts of the equal-wall-time comparison (MODEL_CARD.md): an epoch is 126 such steps.

    .venv/bin/python bench/bench_train_step.py --threads 2
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.measure import example_inputs  # noqa: E402
from models.registry import create_model  # noqa: E402

WIDE = {"widths": [48, 96, 192, 384]}
BODIES = {
    "rgb_resnet": ("rgb_resnet", {}),
    "dct_learned48_wide": ("dct_resnet", {"preset": "learned48", "chroma_merge": "late", **WIDE}),
    "octave_learned48_wide": ("octave_dct_resnet", {"preset": "learned48", "alpha": 0.25, **WIDE}),
    "dynopool_learned48_wide": ("dynopool_dct_resnet", {"preset": "learned48", "chroma_merge": "late", **WIDE}),
}


def random_like(t: torch.Tensor) -> torch.Tensor:
    if t.dtype == torch.int16:
        return torch.randint(-60, 60, t.shape, dtype=torch.int16)
    if t.dtype == torch.uint8:
        return torch.randint(0, 256, t.shape, dtype=torch.uint8)
    return torch.rand(t.shape) * 10 + 1


def step_seconds(name: str, kwargs: dict, batch: int, steps: int) -> float:
    model = create_model(name, num_classes=10, **kwargs).train()
    inputs = tuple(random_like(t) for t in example_inputs(model, batch=batch))
    targets = torch.randint(0, 10, (batch,))
    opt = torch.optim.AdamW(model.parameters())
    times = []
    for _ in range(steps + 1):  # the first step warms up
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(*inputs), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return sorted(times[1:])[len(times[1:]) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=4)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    base = None
    for served, (name, kwargs) in BODIES.items():
        s = step_seconds(name, kwargs, args.batch, args.steps)
        base = base or s
        print(f"{served:<26} {s:6.3f} s per step of {args.batch} ({s / base:.2f}x rgb_resnet)")


if __name__ == "__main__":
    main()
