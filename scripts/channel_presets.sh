#!/usr/bin/env bash
# The channel-selection table of MODEL_CARD.md: DCTNet's static presets against the learned one, at one
# body (the half-width ResNet-18 of dct24_resnet) and one shorter recipe (8 epochs). Resumable.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data/imagewoof2-320/train}
PY=${PY:-.venv/bin/python}
for preset in learned48 dct24 dct64 dct48; do
  $PY -m models.train --model dct_resnet --data "$D" --epochs 8 --threads 2 --resume --dct-pixel-crops \
      --out "runs/presets_$preset" --model-kwargs "{\"preset\": \"$preset\"}"
done
