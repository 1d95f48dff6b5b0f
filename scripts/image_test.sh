#!/usr/bin/env bash
# `make image-test`: build the real CPU image from ./Dockerfile, run it, check it, stop it.
#
#   1. tools: podman (builds; it handles `RUN --mount=type=cache`), docker.io (runs; `podman run` fails on
#      our machines' rlimits) and debootstrap, apt-installed when missing (needs root);
#   2. a local base image in place of python:3.11-slim-bookworm, which cannot be pulled here: Debian bookworm
#      from this machine's apt mirror plus python3, python3-venv, python3-dev and this machine's CA bundle
#      (HTTPS leaves through an intercepting proxy). Cached as a podman image named after its recipe;
#   3. `podman build --build-arg RUNTIME=cpu --build-arg PYTHON_IMAGE=<base>`, then `podman save | docker load`;
#   4. `docker run --network host` on a free loopback port; wait for the image's own HEALTHCHECK to say
#      healthy; classify a JPEG through /v1 and through the Open Inference Protocol's /v2 infer; check uid
#      10001, no torch, no compiler; `docker stop` and check it exited cleanly.
#
# Exits non-zero on the first failure; the container is removed whatever happens.
#
# Knobs (environment): IMAGE, MODEL, JPEG, DATA, BASE_REBUILD=1 (remake the base image), DEBIAN_MIRROR,
# DEBIAN_SECURITY_MIRROR, HEALTH_TIMEOUT_S, PODMAN_RUNTIME (default runc), KEEP_DOCKERD=1 (leave a dockerd
# started here running).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
T0=$SECONDS
step() { printf '\n==> [%4ds] %s\n' "$((SECONDS - T0))" "$*"; }
info() { printf '    %s\n' "$*"; }
die() {
    printf '\nimage-test: FAIL [%ds]: %s\n' "$((SECONDS - T0))" "$*" >&2
    exit 1
}

IMAGE=${IMAGE:-localhost/freqserve:cpu-test}
MODEL=${MODEL:-dct_learned48_wide}
DATA=${DATA:-../shared/data/imagewoof2-320/train}
SUITE=bookworm
# crun (podman's default) refuses these machines' cgroups ("cgroups in hybrid mode not supported"); runc works.
PODMAN_RUNTIME=${PODMAN_RUNTIME:-runc}
HEALTH_TIMEOUT_S=${HEALTH_TIMEOUT_S:-150} # the image's HEALTHCHECK: 60 s start period + 3 x 15 s, and then some
CONTAINER=freqserve-image-test-$$
WORK=$(mktemp -d /tmp/freqserve-image-test.XXXXXX)
ROOTFS=
DOCKERD_PID=
PASSED=0

cleanup() {
    local rc=$?
    set +e
    if docker container inspect "$CONTAINER" >/dev/null 2>&1; then
        if [ "$PASSED" != 1 ]; then
            echo "---- last lines of the container's log ----" >&2
            docker logs --tail 40 "$CONTAINER" 2>&1 | sed 's/^/    /' >&2
        fi
        docker rm -f "$CONTAINER" >/dev/null 2>&1
        echo "    removed container $CONTAINER"
    fi
    if [ -n "$ROOTFS" ] && mountpoint -q "$ROOTFS/proc" 2>/dev/null; then
        umount "$ROOTFS/proc" || umount -l "$ROOTFS/proc"
    fi
    if [ -n "$ROOTFS" ] && mountpoint -q "$ROOTFS/proc" 2>/dev/null; then
        echo "    $ROOTFS/proc is still mounted: left $WORK in place" >&2
    else
        rm -rf "$WORK"
    fi
    if [ -n "$DOCKERD_PID" ] && [ "${KEEP_DOCKERD:-0}" != 1 ]; then
        kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
        echo "    stopped the dockerd started here (pid $DOCKERD_PID)"
    fi
    if [ "$rc" -ne 0 ] && [ "$PASSED" != 1 ]; then
        printf 'image-test: FAILED (exit %d) after %ds\n' "$rc" "$((SECONDS - T0))" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. tools ---------------------------------------------------------------------------------------------
step "tools: podman, dockerd, debootstrap, curl"
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}, and installing them needs root"
    info "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >"$WORK/apt.log" 2>&1; } ||
        { tail -20 "$WORK/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
fi
command -v docker >/dev/null || die "no docker client on PATH"
info "$(podman --version); $(docker --version)"

if ! docker info >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "no Docker daemon answers, and starting one needs root"
    # Host networking only (the test never uses a bridge), so no iptables rules either.
    dockerd --bridge=none --iptables=false >/tmp/freqserve-image-test-dockerd.log 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 1
    done
    docker info >/dev/null 2>&1 ||
        { tail -20 /tmp/freqserve-image-test-dockerd.log >&2; die "dockerd did not come up (log above)"; }
    info "started dockerd (pid $DOCKERD_PID, log /tmp/freqserve-image-test-dockerd.log)"
fi
info "docker daemon $(docker version -f '{{.Server.Version}}')"

# ---- 2. the base image ------------------------------------------------------------------------------------
# This machine's Debian mirror: the first .../debian (and .../debian-security) URL of its apt sources.
host_apt_urls() {
    {
        grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources | awk '{for (i = 2; i <= NF; i++) print $i}'
        grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
            awk '{for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; break }}'
    } | sed 's:/*$::'
}
MIRROR=${DEBIAN_MIRROR:-$(host_apt_urls | grep -E '/debian$' | head -n1 || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-$(host_apt_urls | grep -E '/debian-security$' | head -n1 || true)}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[ -s "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE"
# This machine's apt may be told not to check Release dates (a snapshot mirror); the base then says the same.
NO_VALID_UNTIL=0
apt-config dump 2>/dev/null | grep -qi '^Acquire::Check-Valid-Until "false"' && NO_VALID_UNTIL=1
# pip: the index this machine's pip uses when it is an http(s) one (file:// indexes do not exist in the build).
PIP_INDEX=${PIP_INDEX_URL:-$(pip3 config get global.index-url 2>/dev/null || true)}
case "$PIP_INDEX" in http://* | https://*) ;; *) PIP_INDEX= ;; esac
PIP_TRUSTED=${PIP_TRUSTED_HOST:-$(pip3 config get global.trusted-host 2>/dev/null || true)}
[ -n "$PIP_INDEX" ] || PIP_TRUSTED=

PACKAGES=(python3 python3-venv python3-dev)
RECIPE="v2 $SUITE $MIRROR $SECURITY ${PACKAGES[*]} $NO_VALID_UNTIL $PIP_INDEX $PIP_TRUSTED $(sha256sum <"$CA_BUNDLE")"
BASE_IMAGE=localhost/freqserve-base:$SUITE-$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)

step "base image $BASE_IMAGE"
if [ "${BASE_REBUILD:-0}" != 1 ] && podman image exists "$BASE_IMAGE"; then
    info "cached (BASE_REBUILD=1 remakes it)"
else
    [ "$(id -u)" = 0 ] || die "making the base image (debootstrap, chroot) needs root"
    ROOTFS=$WORK/rootfs
    info "debootstrap --variant=minbase $SUITE from $MIRROR"
    debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
    info "[$((SECONDS - T0))s] + ${PACKAGES[*]}, security updates, this machine's CA bundle"
    cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
    # What Docker's debian images carry (debuerreotype), so that an `apt-get install` layer holds the packages
    # only: without it each one keeps /var/cache/apt/*.bin, 80 MB.
    cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
    echo 'force-unsafe-io' >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    if [ "$NO_VALID_UNTIL" = 1 ]; then
        echo 'Acquire::Check-Valid-Until "false";' >"$ROOTFS/etc/apt/apt.conf.d/99no-check-valid-until"
    fi
    cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
    mount -t proc proc "$ROOTFS/proc"
    in_root() { chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
    {
        in_root apt-get update -qq &&
            in_root apt-get -y -qq upgrade &&
            in_root apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" &&
            in_root apt-get clean
    } >"$WORK/apt-base.log" 2>&1 || { tail -20 "$WORK/apt-base.log" >&2; die "apt-get in the base rootfs failed"; }
    umount "$ROOTFS/proc"
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/log/*.log \
        "$ROOTFS"/var/log/apt/* "$ROOTFS"/tmp/* "$ROOTFS"/root/.cache
    : >"$ROOTFS/etc/resolv.conf" # the engine mounts its own
    install -m 0644 "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    {
        echo '[global]'
        echo "cert = /etc/ssl/certs/ca-certificates.crt"
        [ -z "$PIP_INDEX" ] || echo "index-url = $PIP_INDEX"
        [ -z "$PIP_TRUSTED" ] || echo "trusted-host = $PIP_TRUSTED"
    } >"$ROOTFS/etc/pip.conf"
    tar -C "$ROOTFS" --numeric-owner -c . |
        podman import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'CMD ["python3"]' \
            - "$BASE_IMAGE" >"$WORK/import.log" 2>&1 ||
        { tail -20 "$WORK/import.log" >&2; die "podman import failed"; }
    rm -rf "$ROOTFS"
    ROOTFS=
    info "imported: $(podman image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"
fi

# ---- 3. build ---------------------------------------------------------------------------------------------
step "podman build (RUNTIME=cpu, PYTHON_IMAGE=$BASE_IMAGE) -> $IMAGE"
old_podman=$(podman image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
# --format docker: an OCI image config has no HEALTHCHECK, and podman would drop it.
podman build --format docker --runtime "$PODMAN_RUNTIME" --network host --pull=never \
    --build-arg RUNTIME=cpu --build-arg PYTHON_IMAGE="$BASE_IMAGE" \
    -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1 ||
    { tail -40 "$WORK/build.log" >&2; die "podman build failed (last lines above)"; }
grep -E "^\[.*'(CPUExecutionProvider|CUDAExecutionProvider)'" "$WORK/build.log" | sed 's/^/    import check: /' || true
new_podman=$(podman image inspect -f '{{.Id}}' "$IMAGE")
if [ -n "$old_podman" ] && [ "$old_podman" != "$new_podman" ]; then
    podman rmi "$old_podman" >/dev/null 2>&1 || true # the previous build's image, now untagged
fi

step "podman save | docker load"
old_docker=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
if [ "${old_docker#sha256:}" = "${new_podman#sha256:}" ]; then
    info "docker has this very image already (${new_podman:0:12}): same config digest, same image"
else
    podman save "$IMAGE" | docker load >/dev/null || die "podman save | docker load failed"
    new_docker=$(docker image inspect -f '{{.Id}}' "$IMAGE")
    [ "${new_docker#sha256:}" = "${new_podman#sha256:}" ] || die "docker loaded $new_docker, podman built $new_podman"
    if [ -n "$old_docker" ]; then
        docker rmi "$old_docker" >/dev/null 2>&1 || true # the previous run's image, now untagged
    fi
fi

# ---- 4. run and check -------------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
healthcheck=$(docker inspect -f '{{if .Config.Healthcheck}}{{json .Config.Healthcheck.Test}}{{end}}' "$IMAGE")
[ -n "$healthcheck" ] || die "the image has no HEALTHCHECK"
step "docker run $CONTAINER on 127.0.0.1:$PORT (host network)"
docker run -d --name "$CONTAINER" --network host \
    -e FREQSERVE_HOST=127.0.0.1 -e FREQSERVE_PORT="$PORT" -e FREQSERVE_DEVICE=cpu "$IMAGE" >/dev/null

step "waiting for the image's HEALTHCHECK $healthcheck to report healthy (at most ${HEALTH_TIMEOUT_S}s)"
started=$SECONDS
while :; do
    state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$CONTAINER")
    case "$state" in
        "running healthy") break ;;
        "running none") die "the image has no HEALTHCHECK" ;;
        running\ *) ;;
        *) die "the container stopped before it was healthy: $state" ;;
    esac
    [ $((SECONDS - started)) -lt "$HEALTH_TIMEOUT_S" ] ||
        die "not healthy after ${HEALTH_TIMEOUT_S}s: $state; $(docker inspect -f '{{range .State.Health.Log}}{{.Output}}{{end}}' "$CONTAINER")"
    sleep 1
done
info "healthy after $((SECONDS - started))s"

# The photo: one from the data set when this clone has it, else one made here (cjpeg, ImageMagick or PIL).
JPEG=${JPEG:-}
if [ -z "$JPEG" ] && [ -d "$DATA" ]; then
    JPEG=$(find "$DATA" -type f \( -iname '*.jpeg' -o -iname '*.jpg' \) 2>/dev/null | sort | head -n1 || true)
fi
if [ -z "$JPEG" ]; then
    JPEG=$WORK/test.jpg
    if command -v cjpeg >/dev/null; then
        python3 -c '
import sys
w, h = 160, 120
px = bytes(v for y in range(h) for x in range(w) for v in (x * 255 // w, y * 255 // h, 128))
sys.stdout.buffer.write(b"P6 %d %d 255\n" % (w, h) + px)' | cjpeg -quality 90 >"$JPEG"
    elif command -v convert >/dev/null; then
        convert -size 160x120 gradient:red-blue "$JPEG"
    else
        python3 -c 'import sys; from PIL import Image; Image.radial_gradient("L").convert("RGB").save(sys.argv[1])' "$JPEG" ||
            die "no JPEG: set JPEG=path, or install libjpeg-turbo-progs (cjpeg)"
    fi
fi
[ -s "$JPEG" ] || die "no JPEG at $JPEG"
info "JPEG: $JPEG ($(wc -c <"$JPEG") bytes)"
URL=http://127.0.0.1:$PORT

step "POST /v1/models/$MODEL/classify (Content-Type: image/jpeg)"
code=$(curl -sS --noproxy '*' -m 30 -o "$WORK/v1.json" -D "$WORK/v1.headers" -w '%{http_code}' \
    -H 'Content-Type: image/jpeg' --data-binary @"$JPEG" "$URL/v1/models/$MODEL/classify?top_k=3") ||
    die "curl /v1 failed"
[ "$code" = 200 ] || die "/v1 classify answered $code: $(head -c 500 "$WORK/v1.json")"
python3 - "$WORK/v1.json" "$MODEL" <<'EOF' || die "/v1 classify: unexpected answer: $(head -c 500 "$WORK/v1.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
preds = doc["predictions"]
assert doc["model"] == sys.argv[2] and len(preds) == 3, doc
assert all(isinstance(p["label"], str) and 0.0 <= p["score"] <= 1.0 for p in preds), preds
print("    top-3:", ", ".join(f"{p['label']} {p['score']:.3f}" for p in preds), f"(timings_ms {doc.get('timings_ms')})")
EOF
info "$(grep -i '^x-execution-provider' "$WORK/v1.headers" | tr -d '\r')"

step "POST /v2/models/$MODEL/infer (Open Inference Protocol, base64 BYTES)"
printf '{"inputs":[{"name":"image","datatype":"BYTES","shape":[1],"data":["%s"]}]}' "$(base64 -w0 <"$JPEG")" \
    >"$WORK/v2-request.json"
code=$(curl -sS --noproxy '*' -m 30 -o "$WORK/v2.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary @"$WORK/v2-request.json" "$URL/v2/models/$MODEL/infer") ||
    die "curl /v2 failed"
[ "$code" = 200 ] || die "/v2 infer answered $code: $(head -c 500 "$WORK/v2.json")"
python3 - "$WORK/v2.json" <<'EOF' || die "/v2 infer: unexpected answer: $(head -c 500 "$WORK/v2.json")"
import json, math, sys
doc = json.load(open(sys.argv[1]))
out = doc["outputs"][0]
assert out["name"] == "probabilities" and out["datatype"] == "FP32", out
n, classes = out["shape"]
assert n == 1 and len(out["data"]) == classes > 1, out["shape"]
assert math.isclose(sum(out["data"]), 1.0, abs_tol=1e-3), sum(out["data"])
best = max(range(classes), key=out["data"].__getitem__)
print(f"    outputs[0]: probabilities FP32 {out['shape']}, argmax {best} p={out['data'][best]:.3f}")
EOF

step "runs as uid 10001; no torch; no compiler"
[ "$(docker inspect -f '{{.Config.User}}' "$IMAGE")" = "10001:10001" ] ||
    die "image USER is '$(docker inspect -f '{{.Config.User}}' "$IMAGE")', not 10001:10001"
ids=$(docker exec "$CONTAINER" sh -c 'echo "$(id -u):$(id -g)"')
[ "$ids" = "10001:10001" ] || die "the container runs as $ids, not 10001:10001"
pid1=$(docker exec "$CONTAINER" sh -c 'stat -c %u /proc/1')
[ "$pid1" = 10001 ] || die "PID 1 runs as uid $pid1"
info "uid:gid $ids (and PID 1, $(docker exec "$CONTAINER" sh -c 'tr "\0" " " </proc/1/cmdline'))"
# (onnxruntime warns on stderr that it cannot persist a telemetry id: the home directory is /nonexistent.)
out=$(docker exec "$CONTAINER" python -c 'import onnxruntime, jpegdct._jpegdct, service.main' 2>&1) ||
    die "python in the container cannot import the server: $out"
if out=$(docker exec "$CONTAINER" python -c 'import torch' 2>&1); then
    die "torch imports in the runtime image"
fi
grep -q "No module named 'torch'" <<<"$out" || die "import torch failed, but not for want of torch: $out"
info "import torch: $(tail -n1 <<<"$out")"
found=$(docker exec "$CONTAINER" sh -c 'command -v gcc cc c++ g++ clang tcc cpp; ls /usr/bin /usr/local/bin /opt/venv/bin | grep -E "(^|-)(gcc|g\+\+|clang|cc)(-[0-9.]+)?$"' || true)
[ -z "$found" ] || die "a compiler in the runtime image: ${found//$'\n'/ }"
info "no gcc/cc/c++/g++/clang/tcc/cpp on PATH or in /usr/bin, /usr/local/bin, /opt/venv/bin"

step "docker stop (SIGTERM: uvicorn drains, then exits)"
stop_start=$SECONDS
docker stop -t 30 "$CONTAINER" >/dev/null
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$CONTAINER")
[ "$exit_code" = 0 ] || die "the server exited with $exit_code on SIGTERM"
info "exited 0 after $((SECONDS - stop_start))s"
docker rm "$CONTAINER" >/dev/null

step "image"
docker image ls "$IMAGE"
PASSED=1
printf '\nimage-test: OK in %ds\n' "$((SECONDS - T0))"
