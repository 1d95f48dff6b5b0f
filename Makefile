# The two commands a newcomer needs: `make run` (serve the bundled models) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check

.PHONY: run test lint bench models bundle clean

DATA ?= ../shared/data/imagewoof2-320/train
# rgb_resnet first: the others are evaluated against it (paired, McNemar). QUANTIZED also ship an INT8 twin
# (the others do not: the weights in git stay under 150 MB), as model:recipe (export/quantize.py says why which).
BUNDLED := rgb_resnet dct_learned48_wide dct_drnet octave_learned48_wide dynopool_learned48_wide
QUANTIZED := rgb_resnet:minmax-7bit dct_learned48_wide:float-ends-p99999

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel cffi

# Serving needs no torch.
$(VENV)/.serve: $(PY) pyproject.toml setup.py jpegdct/_reader.c jpegdct/_resample.c jpegdct/_cdef.h
	$(PIP) install -e '.[serve]'
	touch $@

# torch is pinned to the CPU build that ships with these machines (see README).
$(VENV)/.dev: $(VENV)/.serve
	# jpegtran/cjpeg (Debian libjpeg-turbo-progs) let the tests check bit-exactness and orientation; required:
	# under CI=true a test that would skip without them fails instead.
	command -v jpegtran >/dev/null && command -v cjpeg >/dev/null || apt-get install -y -qq libjpeg-turbo-progs >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq libjpeg-turbo-progs)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[serve,train,dev]'
	touch $@

# The benchmarks' baselines (OpenCV, simplejpeg) without torch: the serving install plus the bench extra.
$(VENV)/.bench: $(VENV)/.serve
	$(PIP) install -e '.[serve,bench]'
	touch $@

run: $(VENV)/.serve
	$(PY) -m service

test: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

# Both benchmarks, from any clone: photos from ../shared (DATA=...), figures printed against their baselines.
bench: $(VENV)/.bench
	$(PY) bench/bench_reader.py --data $(DATA)
	$(PY) bench/bench_service.py --images $(DATA)

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Reproduce the bundled models: train on CPU (see MODEL_CARD.md for wall times), then bundle.
models: $(VENV)/.dev
	DATA=$(DATA) PY=$(PY) bash scripts/train_models.sh

# Compact float16 checkpoints (checkpoints/) -> ONNX files (bundled/) with the contract inside, parity-checked against
# torch, and their INT8 twins (bundled/<name>_int8/, QDQ, calibrated on training photos).
bundle: $(VENV)/.dev
	set -e; for m in $(BUNDLED); do \
	  $(PY) -m models.checkpoint runs/$$m/final.pt checkpoints/$$m.pt; \
	  $(PY) -m export --model $$m --checkpoint checkpoints/$$m.pt --out bundled --parity-data $(DATA) \
	    --parity-count 300 > checkpoints/$$m.export.json; \
	  for q in $(QUANTIZED); do [ $${q%%:*} = $$m ] || continue; \
	    $(PY) -m export.quantize --model $$m --model-dir bundled --calibration-data $(DATA) --recipe $${q#*:} \
	      > checkpoints/$$m.int8.json; \
	  done; \
	  against=; [ $$m = rgb_resnet ] || against="--against checkpoints/rgb_resnet.pt"; \
	  $(PY) -m models.evaluate --checkpoint checkpoints/$$m.pt --data $(DATA) $$against --json checkpoints/$$m.eval.json; \
	done

# Ray Serve, live on this machine: a local Ray cluster, 2 replicas, both APIs, one replica killed mid-run.
# Not part of `make test` (it starts a cluster); installs the ray extra.
.PHONY: ray-test ray-run
ray-test: $(VENV)/.dev
	$(PIP) install -e '.[serve,ray]'
	FREQSERVE_RAY_TEST=1 $(PY) -m pytest -q -s tests/service/test_ray_serve.py

# Serve bundled/ on a local Ray cluster (2 replicas, port 8000).
ray-run: $(VENV)/.serve
	$(PIP) install -e '.[serve,ray]'
	$(PY) -m service.ray_serve --replicas 2 --port 8000

clean:
	rm -rf $(VENV) build *.egg-info jpegdct/_jpegdct*.so

# Build the real CPU image from the Dockerfile (podman), run it (docker), check it, stop it. Root, Debian;
# installs podman/docker.io/debootstrap when missing. See scripts/image_test.sh.
.PHONY: image-test
image-test:
	bash scripts/image_test.sh
