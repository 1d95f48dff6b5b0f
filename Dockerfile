# syntax=docker/dockerfile:1
#
# freqserve image: ONNX Runtime behind FastAPI, no torch, no compilers, non-root.
#
#   docker build -t freqserve:gpu .                          # CUDA 12 + cuDNN 9, onnxruntime-gpu
#   docker build -t freqserve:cpu --build-arg RUNTIME=cpu .  # python:3.11-slim, onnxruntime
#
# onnxruntime-gpu on PyPI is built for CUDA 12 + cuDNN 9 up to 1.26.x and for CUDA 13 from 1.27 on (see the
# "cuda" extra of each wheel), hence the pin below. For a CUDA 13 host (driver >= 580) pass a CUDA 13
# `-cudnn-runtime-ubuntu24.04` tag as CUDA_IMAGE together with --build-arg ORT_GPU='onnxruntime-gpu>=1.27'.

ARG RUNTIME=gpu
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG ORT_GPU="onnxruntime-gpu>=1.19,<1.27"
ARG ORT_CPU="onnxruntime>=1.18"

# ---- runtime bases: the interpreter and libjpeg-turbo, nothing else --------------------------------------
FROM ${CUDA_IMAGE} AS base-gpu
# apt versions are not pinned: the base image tag is the pin, and the archive drops superseded versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 libjpeg-turbo8 \
    && rm -rf /var/lib/apt/lists/*

FROM ${PYTHON_IMAGE} AS base-cpu
# apt versions are not pinned: the base image tag is the pin, and the archive drops superseded versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libjpeg62-turbo \
    && rm -rf /var/lib/apt/lists/*

# ---- build environments: the same bases plus a C compiler and headers for the cffi extension -------------
FROM base-gpu AS buildenv-gpu
ARG ORT_GPU
ENV ORT_REQUIREMENT=${ORT_GPU}
# apt versions are not pinned: the base image tag is the pin, and the archive drops superseded versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev python3-dev python3-venv libjpeg-turbo8-dev \
    && rm -rf /var/lib/apt/lists/*

FROM base-cpu AS buildenv-cpu
ARG ORT_CPU
ENV ORT_REQUIREMENT=${ORT_CPU}
# apt versions are not pinned: the base image tag is the pin, and the archive drops superseded versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libjpeg62-turbo-dev \
    && rm -rf /var/lib/apt/lists/*

# ---- builder: dependencies first (cached until pyproject.toml changes), then the package ----------------
# buildenv-${RUNTIME} is a stage of this file, not an image from a registry: there is no tag to pin.
# hadolint ignore=DL3006
FROM buildenv-${RUNTIME} AS builder
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml deploy/requirements.py ./
# The pip cache lives in a BuildKit cache mount: rebuilds after a pyproject.toml change reuse the wheels
# (onnxruntime-gpu alone is ~250 MB) and the cache never lands in a layer.
RUN --mount=type=cache,target=/root/.cache/pip \
    python3 -m venv /opt/venv \
    && python requirements.py pyproject.toml --extra serve --onnxruntime "$ORT_REQUIREMENT" > requirements.txt \
    && pip install -r requirements.txt
COPY setup.py README.md ./
COPY jpegdct/ jpegdct/
COPY inputs/ inputs/
COPY models/ models/
COPY export/ export/
COPY service/ service/
COPY loadtest/ loadtest/
# --no-deps: the dependencies are in already; resolving them again would pull the CPU onnxruntime next to
# onnxruntime-gpu. The import check fails the build here rather than at start-up in production; -I keeps
# the sources in the working directory off sys.path, so it imports what was installed.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps . \
    && python -I -c "import jpegdct._jpegdct, service.main, onnxruntime; print(onnxruntime.get_available_providers())"

# ---- runtime ---------------------------------------------------------------------------------------------
# base-${RUNTIME} is a stage of this file, not an image from a registry: there is no tag to pin.
# hadolint ignore=DL3006
FROM base-${RUNTIME} AS runtime
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FREQSERVE_HOST=0.0.0.0 \
    FREQSERVE_PORT=8000 \
    FREQSERVE_MODEL_DIR=/app/bundled \
    FREQSERVE_DEVICE=auto
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin freqserve
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY deploy/healthcheck.py /app/healthcheck.py
COPY bundled/ /app/bundled/
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["python", "/app/healthcheck.py"]
# Exec form: python is PID 1 and gets SIGTERM itself; uvicorn drains in-flight requests before exiting.
CMD ["python", "-m", "service"]
