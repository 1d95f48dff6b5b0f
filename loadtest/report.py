"""Turning step rows into a table, throughput ratios between models, CSV and JSON files."""

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

Row = Mapping[str, object]

CSV_COLUMNS: tuple[str, ...] = (
    "model",
    "mode",
    "level",
    "requests",
    "ok",
    "errors",
    "error_rate",
    "wall_s",
    "throughput_rps",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "bytes_sent",
    "mean_input_bytes",
    "server_queue_ms_mean",
    "server_infer_ms_mean",
    "max_send_lag_ms",
    "mean_gflops",
    "resolutions",
    "errors_by_status",
)


def level_label(mode: object, level: object) -> str:
    """``c=16`` for a closed-loop step, ``50/s`` for an open-loop one."""
    return f"c={level}" if mode == "closed" else f"{level:g}/s" if isinstance(level, int | float) else str(level)


def format_errors(errors: object) -> str:
    """``{"503": 3, "timeout": 1}`` -> ``503:3 timeout:1`` (empty when there were none)."""
    if not isinstance(errors, Mapping):
        return ""
    return " ".join(f"{k}:{v}" for k, v in errors.items())


def _num(value: object, fmt: str) -> str:
    if not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def format_table(rows: Sequence[Row]) -> str:
    """A fixed-width table, one line per (model, step); failed requests are listed by status last."""
    header = (
        "model", "step", "req", "ok", "err%", "req/s", "p50ms", "p90ms", "p95ms", "p99ms", "MB sent", "in_bytes",
        "errors",
    )  # fmt: skip
    lines = [header]
    for r in rows:
        err, sent = r["error_rate"], r["bytes_sent"]
        lines.append(
            (
                str(r["model"]),
                level_label(r["mode"], r["level"]),
                str(r["requests"]),
                str(r["ok"]),
                _num(err * 100 if isinstance(err, int | float) else None, ".1f"),
                _num(r["throughput_rps"], ".1f"),
                _num(r["p50_ms"], ".1f"),
                _num(r["p90_ms"], ".1f"),
                _num(r["p95_ms"], ".1f"),
                _num(r["p99_ms"], ".1f"),
                _num(sent / 1e6 if isinstance(sent, int | float) else None, ".2f"),
                _num(r["mean_input_bytes"], ".0f"),
                format_errors(r.get("errors_by_status")),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    left = {0, 1, len(header) - 1}
    out = []
    for line in lines:
        cells = [c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def throughput_ratios(rows: Sequence[Row], models: Sequence[str]) -> list[dict[str, object]]:
    """Throughput of the first model over each other model, step by step (the steps both ran)."""
    if len(models) < 2:
        return []
    by_key = {(r["model"], r["mode"], r["level"]): r["throughput_rps"] for r in rows}
    ratios: list[dict[str, object]] = []
    base = models[0]
    for r in rows:
        if r["model"] != base:
            continue
        for other in models[1:]:
            theirs = by_key.get((other, r["mode"], r["level"]))
            ours = r["throughput_rps"]
            if not isinstance(theirs, int | float) or not isinstance(ours, int | float):
                continue
            ratio = ours / theirs if theirs > 0 else math.nan
            ratios.append(
                {"mode": r["mode"], "level": r["level"], "numerator": base, "denominator": other, "ratio": ratio}
            )
    return ratios


def format_ratios(ratios: Sequence[Mapping[str, object]]) -> str:
    return "\n".join(
        f"throughput {r['numerator']} / {r['denominator']} at {level_label(r['mode'], r['level'])}: "
        f"{_num(r['ratio'], '.2f')}x"
        for r in ratios
    )


def format_resolutions(rows: Sequence[Row]) -> str:
    """One line per DRNet step: the resolutions its predictor chose and the mean compute per image."""
    return "\n".join(
        f"{r['model']} {level_label(r['mode'], r['level'])}: resolutions {format_errors(r['resolutions'])}, "
        f"{_num(r.get('mean_gflops'), '.3f')} GFLOPs/image"
        for r in rows
        if r.get("resolutions")
    )


def _csv_value(value: object) -> object:
    if isinstance(value, Mapping):
        return format_errors(value)  # "503:3 timeout:1", "224:70 160:30"
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 4)
    return value


def write_csv(rows: Sequence[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _csv_value(r.get(k)) for k in CSV_COLUMNS})


def _json_safe(value: object) -> object:
    """NaN is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_json(doc: Mapping[str, object], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_json_safe(doc), indent=2) + "\n")
