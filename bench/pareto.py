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
SUFFIX = "_int8"  # export.quantize.SUFFIX (this script stays free of the export package's torch imports)


def standard_error(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def int8_evals(evals: list[dict[str, Any]], served: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for the ``<name>_int8`` twins the service measured: the float twin's cost figures (same
    graph, same inputs; thop counts MACs, not their precision), the served top-1 and paired comparison."""
    by_name = {e["model"]: e for e in evals}
    out = []
    for name, row in served.get("models", {}).items():
        twin = by_name.get(name.removesuffix(SUFFIX))
        if name.endswith(SUFFIX) and twin is not None:
            out.append(
                twin
                | {"model": name, "top1": row["top1"], "val_images": served["photos"], "against": row.get("against")}
                | {"train_seconds": None, "agreement_with_float": row.get("agreement_with_float")}
            )
    return out


def rows(
    evals: list[dict[str, Any]], bench: dict[str, Any], concurrency: int, served: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    rate = {(r["model"]): r for r in bench["results"] if r["concurrency"] == concurrency}
    single = {(r["model"]): r for r in bench["results"] if r["concurrency"] == 1}
    served = served or {}
    out = []
    for e in [*evals, *int8_evals(evals, served)]:
        cell = rate.get(e["model"])
        out.append(
            {
                "model": e["model"],
                "kind": cell["kind"] if cell else "?",
                "top1": e["top1"],
                "se": standard_error(e["top1"], e["val_images"]),
                "n": e["val_images"],
                "gflops": e["gflops"],
                "params": e["params"],
                "bytes": e["input_bytes"],
                "img_per_s": cell["img_per_s"] if cell else float("nan"),
                "img_per_s_c1": single[e["model"]]["img_per_s"] if e["model"] in single else float("nan"),
                "p99_ms": cell.get("p99_ms", float("nan")) if cell else float("nan"),
                "train_min": (e.get("train_seconds") or float("nan")) / 60,
                "against": e.get("against"),
                "served_top1": served.get("models", {}).get(e["model"], {}).get("top1"),
            }
        )
    return sorted(out, key=lambda r: -r["top1"])


def markdown(table: list[dict[str, Any]], concurrency: int) -> str:
    lines = [
        f"| model | kind | val top-1 ± SE | top-1 through the service | GFLOPs | params | bytes / image to the runtime "
        f"| img/s at c=1 / c={concurrency} | p99 ms at c={concurrency} | training wall time "
        "| vs RGB baseline on the same photos (McNemar) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        a = r["against"]
        paired = (
            f"{a['only_this_right']} right only here, {a['only_other_right']} only for RGB, p = {a['p_value']:.3g}"
            if a and "only_this_right" in a
            else "(the baseline)"
        )
        via = f"{100 * r['served_top1']:.1f}%" if r["served_top1"] is not None else "-"
        wall = f"{r['train_min']:.0f} min" if not math.isnan(r["train_min"]) else "-"
        lines.append(
            f"| `{r['model']}` | {r['kind']} | {100 * r['top1']:.1f}% ± {100 * r['se']:.1f} | {via} | "
            f"{r['gflops']:.3f} | {r['params'] / 1e6:.2f} M | {r['bytes']:,.0f} | "
            f"{r['img_per_s_c1']:.0f} / {r['img_per_s']:.0f} | {r['p99_ms']:.0f} | {wall} | "
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
    p.add_argument("--served", type=Path, default=None, help="bench/accuracy.py --json: top-1 through the service")
    p.add_argument("--plot", type=Path, default=None)
    a = p.parse_args(argv)
    evals = [json.loads(f.read_text()) for f in a.evals]
    served = json.loads(a.served.read_text()) if a.served else None
    table = rows(evals, json.loads(a.bench.read_text()), a.concurrency, served)
    print(markdown(table, a.concurrency))
    if a.plot:
        plot(table, a.plot, a.concurrency)


if __name__ == "__main__":
    main()
