#!/usr/bin/env bash
# Trains the four bundled models exactly as MODEL_CARD.md reports them (CPU; resumable: rerun to continue).
# DCT-24 (plain and wide) and the RGB baseline share the recipe and the epoch count; DRNet starts from RGB.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data/imagewoof2-320/train}
PY=${PY:-.venv/bin/python}
$PY -m models.train --model dct24_resnet --data "$D" --epochs 24 --resume --dct-pixel-crops
$PY -m models.train --model dct24_resnet --data "$D" --epochs 24 --resume --dct-pixel-crops --out runs/dct24_wide \
    --model-kwargs '{"widths": [48, 96, 192, 384], "chroma_merge": "late"}'
$PY -m models.train --model rgb_resnet --data "$D" --epochs 24 --resume
$PY -m models.train --model drnet_resnet --data "$D" --init-from runs/rgb_resnet/final.pt --epochs 3 --lr 1e-3 \
    --predictor-epochs 40 --flops-target 0.6 --resume
