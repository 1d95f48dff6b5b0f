"""Freeze a trained channel gate's choice into a preset (DCTNet's learned selection, made static).

    python -m models.select_channels --checkpoint runs/dct192_gate/final.pt --k 48 --name learned48 \\
        --json checkpoints/learned48.channels.json --heatmap docs/learned48_channels.png

Prints the ``ChannelPreset`` to paste into ``jpegdct/channels.py`` (the preset is source code there, so the
reader, serving and training all see one definition), writes the gate's P(on) per frequency as JSON and as a
heat map of the 8x8 frequency grid per component (Y, Cb, Cr), with the selected channels outlined.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from jpegdct.channels import ChannelPreset
from models.channel_gate import COMPONENTS, channel_scores, select_preset
from models.checkpoint import load_model


def preset_source(preset: ChannelPreset) -> str:
    return f"ChannelPreset({preset.name!r}, {preset.luma!r}, {preset.chroma!r}),"


def write_heatmap(scores: dict[str, np.ndarray], preset: ChannelPreset, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 3, figsize=(11, 4), constrained_layout=True)
    for ax, name, chosen in zip(axes, COMPONENTS, preset.per_component, strict=True):
        im = ax.imshow(scores[name], vmin=0, vmax=1, cmap="viridis")
        for i in chosen:
            v, u = divmod(i, 8)
            ax.add_patch(Rectangle((u - 0.5, v - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
        ax.set_title(f"{name}: {len(chosen)} kept")
        ax.set_xlabel("horizontal frequency u")
        ax.set_ylabel("vertical frequency v")
        ax.set_xticks(range(8))
        ax.set_yticks(range(8))
    fig.colorbar(im, ax=axes, shrink=0.8, label="gate P(on)")
    fig.suptitle(f"Learned channel gate (red: the {preset.num_channels} channels of preset {preset.name})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="a trained dct192_gate checkpoint")
    p.add_argument("--k", type=int, default=48, help="channels to keep (a chroma index counts twice)")
    p.add_argument("--name", required=True, help="the preset's name, e.g. learned48")
    p.add_argument("--json", default=None)
    p.add_argument("--heatmap", default=None, help="PNG of P(on) per frequency and component")
    a = p.parse_args(argv)
    model, _ = load_model(a.checkpoint)
    scores = channel_scores(model)
    preset = select_preset(scores, a.k, a.name)
    print(preset_source(preset))
    if a.json:
        report = {
            "checkpoint": a.checkpoint,
            "k": a.k,
            "preset": {"name": preset.name, "luma": preset.luma, "chroma": preset.chroma},
            "p_on": {k: np.round(v, 4).tolist() for k, v in scores.items()},
            "channels_on": int(sum((v > 0.5).sum() for v in scores.values())),
        }
        Path(a.json).write_text(json.dumps(report, indent=2))
    if a.heatmap:
        write_heatmap(scores, preset, Path(a.heatmap))


if __name__ == "__main__":
    main()
