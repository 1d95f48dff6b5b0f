#!/usr/bin/env bash
# Training chain used for the bundled models (same recipe, same epochs for DCT and RGB).
set -e
D=../shared/data/imagewoof2-320/train
.venv/bin/python -m models.train --model dct24_resnet --data $D --epochs 24 --resume > runs/dct24_resnet.log 2>&1
.venv/bin/python -m models.train --model rgb_resnet --data $D --epochs 24 --resume > runs/rgb_resnet.log 2>&1
