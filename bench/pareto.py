"""MODEL_CARD's Pareto table and plot, from what the commands wrote (no torch, no model runs here).

    python bench/pareto.py --evals checkpoints/*.eval.json --bench checkpoints/bench_service.json \\
        --plot docs/pareto.png

``*.eval.json``: ``python -m models.evaluate --checkpoint checkpoints/<name>.pt --against
checkpoints/rgb_resnet.pt --json ...`` (validation top-1, GFLOPs, params, bytes, training time, McNemar).
``bench_service.json``: ``python bench/bench_service.py --json ...`` (served img/s per concurrency).
Prints the markdown table; the plot is validation top-1 (with one standard error) against served img/s.
"""

import argparse
import json
import math
from pathlib import Path
from typing import Any

DCT_KINDS = ("dct", "dct_drnet")


def standard_error(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def rows(evals: list[dict[str, Any]], bench: dict[str, Any], concurrency: int) -> list[dict[str, Any]]:
    rate = {(r["model"]): r for r in bench["results"] if r["concurrency"] == concurrency}
    out = []
    for e in evals:
        served = rate.get(e["model"])
        out.append(
            {
                "model": e["model"],
                "kind": served["kind"] if served else "?",
                "top1": e["top1"],
                "se": standard_error(e["top1"], e["val_images"]),
                "n": e["val_images"],
                "gflops": e["gflops"],
                "params": e["params"],
                "bytes": e["input_bytes"],
                "img_per_s": served["img_per_s"] if served else float("nan"),
                "train_min": (e.get("train_seconds") or float("nan")) / 60,
                "against": e.get("against"),
            }
        )
    return sorted(out, key=lambda r: -r["top1"])


def markdown(table: list[dict[str, Any]], concurrency: int) -> str:
    lines = [
        f"| model | kind | val top-1 ± SE | GFLOPs | params | bytes / image to the runtime | img/s at c={concurrency} "
        "| training wall time | vs RGB baseline on the same photos (McNemar) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        a = r["against"]
        paired = (
            f"{a['only_this_right']} right only here, {a['only_other_right']} only for RGB, p = {a['p_value']:.3g}"
            if a and "only_this_right" in a
            else "(the baseline)"
        )
        lines.append(
            f"| `{r['model']}` | {r['kind']} | {100 * r['top1']:.1f}% ± {100 * r['se']:.1f} | {r['gflops']:.3f} | "
            f"{r['params'] / 1e6:.2f} M | {r['bytes']:,.0f} | {r['img_per_s']:.0f} | {r['train_min']:.0f} min | "
            f"{paired} |"
        )
    return "\n".join(lines)


def plot(table: list[dict[str, Any]], path: Path, concurrency: int) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for r in table:
        dct = r["kind"] in DCT_KINDS
        ax.errorbar(
            r["img_per_s"],
            100 * r["top1"],
            yerr=100 * r["se"],
            fmt="o" if dct else "s",
            color="tab:blue" if dct else "tab:red",
            capsize=3,
        )
        ax.annotate(r["model"], (r["img_per_s"], 100 * r["top1"]), textcoords="offset points", xytext=(6, 4))
    ax.plot([], [], "o", color="tab:blue", label="frequency domain (DCT)")
    ax.plot([], [], "s", color="tab:red", label="RGB baseline")
    ax.set_xlabel(f"served images/s at concurrency {concurrency} (same service, same CPU)")
    ax.set_ylabel(f"validation top-1 % (± 1 SE, {table[0]['n']} photos)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--evals", nargs="+", type=Path, required=True)
    p.add_argument("--bench", type=Path, required=True)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--plot", type=Path, default=None)
    a = p.parse_args(argv)
    evals = [json.loads(f.read_text()) for f in a.evals]
    table = rows(evals, json.loads(a.bench.read_text()), a.concurrency)
    print(markdown(table, a.concurrency))
    if a.plot:
        plot(table, a.plot, a.concurrency)


if __name__ == "__main__":
    main()
