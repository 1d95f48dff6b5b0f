#!/usr/bin/env bash
# Reruns the DCT-24 variants table of MODEL_CARD.md ("where the gap is"): each run in runs/<name>/, resumable.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DATA:-../shared/data/imagewoof2-320/train}
PY=${PY:-.venv/bin/python}
names=()
run() {
  local name=$1 model=$2
  shift 2
  $PY -m models.train --model "$model" --data "$D" --epochs 24 --out "runs/$name" --resume "$@"
  names+=("$name")
}
run dct24_crop2 dct24_resnet --dct-crop-step 2
run dct24_block1 dct24_resnet
run dct24_stride8 dct24_resnet --dct-crop-step 2 --model-kwargs '{"strides": [1, 2, 2, 1]}'
run dct24_w48 dct24_resnet --model-kwargs '{"widths": [48, 96, 192, 384]}'
run dct24_late dct24_resnet --model-kwargs '{"chroma_merge": "late"}'
run dct24_wide_block1 dct24_resnet --model-kwargs '{"widths": [48, 96, 192, 384], "chroma_merge": "late"}'
run dct24_w64 dct24_resnet --model-kwargs '{"widths": [64, 128, 256, 384], "depths": [2, 2, 2, 1], "chroma_merge": "late"}'
run dct24_w64_px dct24_resnet --dct-pixel-crops --model-kwargs '{"widths": [64, 128, 256, 384], "depths": [2, 2, 2, 1], "chroma_merge": "late"}'
run dct64_crop2 dct64_resnet --dct-crop-step 2
run dct64_block1 dct64_resnet
# The bundled two: crops at any pixel offset (the same runs as scripts/train_models.sh).
run dct24_resnet dct24_resnet --dct-pixel-crops
run dct24_wide dct24_resnet --dct-pixel-crops --model-kwargs '{"widths": [48, 96, 192, 384], "chroma_merge": "late"}'
for r in "${names[@]}"; do
  $PY -c "import json, sys; e = json.load(open(sys.argv[1]))['epochs'][-1]; print(sys.argv[1], e['val_top1'], e['train_top1'])" \
    "runs/$r/metrics.json"
done
