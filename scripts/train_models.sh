#!/usr/bin/env bash
# Trains the bundled models exactly as MODEL_CARD.md reports them (CPU; resumable: rerun to continue).
# One recipe for every one-graph model (AdamW + one-cycle, label smoothing 0.1, random crops at any pixel
# offset + flips); the runs go one after another (two at once on 2 cores is slower than in turn). Epochs:
# RGB 16; the plain DCT model 30, the same wall time on this CPU (its epochs take ~0.5x RGB's); the
# DynOPool and octave models 30 as well (MODEL_CARD.md).
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data/imagewoof2-320/train}
PY=${PY:-.venv/bin/python}
WIDE='"widths": [48, 96, 192, 384], "chroma_merge": "late"'
# 1. The RGB baseline, on random-resized crops (35-100% of the area; the bundled one, picked on a one-off
#    every-size comparison that the rerunnable one does not confirm: MODEL_CARD.md, "The RGB choice"), and the centre-scale run it replaced with the fine-tune
#    from it that was tried against it (3 epochs, the plain DCT model's fine-tune at equal wall time).
$PY -m models.train --model rgb_resnet --data "$D" --epochs 16 --threads 2 --resume --scale-aug 0.35 \
    --out runs/rgb_resnet
$PY -m models.train --model rgb_resnet --data "$D" --epochs 16 --threads 2 --resume --out runs/rgb_resnet_centre
$PY -m models.train --model rgb_resnet --data "$D" --epochs 3 --lr 1e-3 --threads 2 --resume --scale-aug 0.35 \
    --init-from runs/rgb_resnet_centre/final.pt --out runs/rgb_resnet_finetuned
# 2. The channel gate over all 192 DCT channels (6 epochs); its top 48 are the `learned48` preset in
#    jpegdct/channels.py (python -m models.select_channels prints it; the heat map is docs/learned48_channels.png).
$PY -m models.train --model dct192_gate --data "$D" --epochs 6 --threads 2 --resume --dct-pixel-crops \
    --out runs/dct192_gate
$PY -m models.select_channels --checkpoint runs/dct192_gate/final.pt --k 48 --name learned48 \
    --json checkpoints/learned48.channels.json --heatmap docs/learned48_channels.png
# 3. The DCT model on the learned preset, 1.5x wide body, chroma merged late; then (the bundled one) 8 epochs
#    fine-tuned from it on random-resized crops (35-100% of the area, lr 1e-3), which keeps its accuracy at every
#    photo size (MODEL_CARD.md).
$PY -m models.train --model dct_resnet --data "$D" --epochs 30 --threads 2 --resume --dct-pixel-crops \
    --out runs/dct_learned48_wide_centre --model-kwargs "{\"preset\": \"learned48\", $WIDE}"
$PY -m models.train --model dct_resnet --data "$D" --epochs 8 --lr 1e-3 --threads 2 --resume --dct-pixel-crops \
    --scale-aug 0.35 --init-from runs/dct_learned48_wide_centre/final.pt --out runs/dct_learned48_wide \
    --model-kwargs "{\"preset\": \"learned48\", $WIDE}"
# 4. The DCT-domain DRNet on the 30-epoch body: paths at the native grid, its 0.75x DCT-domain resample and its
#    exact 2x DCT-domain downscale.
$PY -m models.train --model dct_drnet --data "$D" --init-from runs/dct_learned48_wide_centre/final.pt --epochs 2 \
    --lr 1e-3 --threads 2 --resume --dct-pixel-crops --predictor-epochs 40 --flops-target 0.6 \
    --out runs/dct_drnet --model-kwargs "{\"preset\": \"learned48\", \"resolutions\": [256, 192, 128], $WIDE}"
# 5. Octave convolution on the same body and preset: alpha 0.25 (bundled), the low octave fed from the coefficients;
#    alpha 0.5 evaluated, not bundled (docs/measured/octave_a50_learned48_wide.eval.json).
$PY -m models.train --model octave_dct_resnet --data "$D" --epochs 30 --threads 2 --resume --dct-pixel-crops \
    --out runs/octave_learned48_wide --model-kwargs '{"preset": "learned48", "widths": [48, 96, 192, 384], "alpha": 0.25}'
$PY -m models.train --model octave_dct_resnet --data "$D" --epochs 30 --threads 2 --resume --dct-pixel-crops \
    --out runs/octave_a50_learned48_wide --model-kwargs '{"preset": "learned48", "widths": [48, 96, 192, 384], "alpha": 0.5}'
# 6. DynOPool on the same body: learned resizes in place of the stride-2 steps, MACs budget 0.7, trained on
#    random-resized crops (35-100% of the area): the bundled one, chosen for holding its accuracy at every photo
#    size (MODEL_CARD.md); the same recipe on centre-scale crops (second line) was bundled before.
$PY -m models.train --model dynopool_dct_resnet --data "$D" --epochs 30 --threads 2 --resume --dct-pixel-crops \
    --scale-aug 0.35 --out runs/dynopool_learned48_wide \
    --model-kwargs "{\"preset\": \"learned48\", $WIDE, \"budget\": 0.7}"
$PY -m models.train --model dynopool_dct_resnet --data "$D" --epochs 30 --threads 2 --resume --dct-pixel-crops \
    --out runs/dynopool_centre_learned48_wide --model-kwargs "{\"preset\": \"learned48\", $WIDE, \"budget\": 0.7}"
# 7. DynOPool at a second budget (0.5; evaluated, not bundled: the bundle's weights are at their 150 MB cap).
$PY -m models.train --model dynopool_dct_resnet --data "$D" --epochs 30 --threads 2 --resume --dct-pixel-crops \
    --out runs/dynopool_b05_learned48_wide --model-kwargs "{\"preset\": \"learned48\", $WIDE, \"budget\": 0.5}"
