"""Benchmark: JPEG -> the bundled DCT model's input with jpegdct vs pixel decoding baselines (not a test).

Run: ``python bench/bench_reader.py [--limit N] [--json out.json]``. Single-threaded per call (BLAS/OpenCV
thread pools pinned to 1), methods interleaved image by image so that background load hits them alike.
Images are read into memory first (no disk I/O is timed); the larger sizes are re-encoded in memory from
some of the photos and never written anywhere.
"""

import os

# Single-threaded baselines: set before numpy/OpenCV start their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import simplejpeg  # noqa: E402
from PIL import Image, features  # noqa: E402

from inputs.contract import InputContract  # noqa: E402
from jpegdct.blocks import dct_matrix  # noqa: E402

# The shared photos beside the repository (never copied into it), from any clone.
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "imagewoof2-320" / "train"
LARGE_WIDTHS = (500, 1024, 1920, 4032)  # 4032: 12 MP, a mosaic of real photos at their own resolution
LARGE_SOURCES = 8  # photos re-encoded at each large width
LARGE_REPEATS = 3

cv2.setNumThreads(1)


# ---------------------------------------------------------------------------------------------- methods
_D = dct_matrix().astype(np.float32)


def _dctnet_pixel_pipeline(data: bytes) -> np.ndarray:
    """DCTNet's preprocessing (Xu et al. 2020): decode, resize to 448x448, YCbCr, 8x8 DCT, keep 24 channels."""
    from jpegdct import PRESETS

    preset = PRESETS["dct24"]
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    bgr = cv2.resize(bgr, (448, 448), interpolation=cv2.INTER_LINEAR)
    ycc = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb).astype(np.float32) - 128  # planes Y, Cr, Cb
    blocks = ycc.reshape(56, 8, 56, 8, 3).transpose(4, 0, 2, 1, 3)  # [3, 56, 56, 8, 8]
    coefs = (_D @ blocks @ _D.T).reshape(3, 56, 56, 64)
    y = coefs[0][..., list(preset.luma)]
    cb = coefs[2][..., list(preset.chroma)]
    cr = coefs[1][..., list(preset.chroma)]
    return np.ascontiguousarray(np.concatenate([y, cb, cr], axis=-1).transpose(2, 0, 1))


def served_contract() -> InputContract:
    """The bundled DCT model's input contract (``dct_learned48_wide``: learned48 channels, 32x32 blocks)."""
    return InputContract(kind="dct", class_ids=("x",), labels=("x",), preset="learned48", grid=(32, 32))


def build_methods() -> dict[str, Callable[[bytes], object]]:
    from inputs.dct import dct_input
    from inputs.rgb import rgb_input
    from jpegdct import read_coefficients

    contract = served_contract()

    def cv2_resize(data: bytes) -> np.ndarray:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        return cv2.resize(bgr, (224, 224), interpolation=cv2.INTER_AREA)

    def simplejpeg_scaled_resize(data: bytes) -> np.ndarray:
        rgb = simplejpeg.decode_jpeg(data, colorspace="RGB", min_height=224, min_width=224)
        return cv2.resize(rgb, (224, 224), interpolation=cv2.INTER_AREA)

    return {
        "ours_all": read_coefficients,
        "ours_dct": lambda d: dct_input(d, contract),
        "simplejpeg_full": lambda d: simplejpeg.decode_jpeg(d, colorspace="RGB"),
        "cv2_decode_resize224": cv2_resize,
        "simplejpeg_scaled_resize224": simplejpeg_scaled_resize,
        "ours_rgb_input224": lambda d: rgb_input(d, 224, 256),
        "dctnet_pixel_448": _dctnet_pixel_pipeline,
    }


LABELS = {
    "ours_all": "jpegdct read_coefficients, all 64 ch",
    "ours_dct": "jpegdct dct_input learned48, 32x32 (served)",
    "simplejpeg_full": "simplejpeg full decode",
    "cv2_decode_resize224": "cv2.imdecode + resize 224 (AREA)",
    "simplejpeg_scaled_resize224": "simplejpeg scaled decode + resize 224",
    "ours_rgb_input224": "jpegdct rgb_input(224, 256) scaled dec.",
    "dctnet_pixel_448": "DCTNet pixels: dec, 448, YCbCr, DCT, 24",
}
RESIZE_224 = ("cv2_decode_resize224", "simplejpeg_scaled_resize224", "ours_rgb_input224")


# ------------------------------------------------------------------------------------------------- data
def stratified_files(limit: int, seed: int = 0, data: Path = DATA) -> list[Path]:
    classes = sorted(p for p in data.iterdir() if p.is_dir())
    per_class = [sorted(c.glob("*")) for c in classes]
    total = sum(len(f) for f in per_class)
    if limit <= 0 or limit >= total:
        return [f for files in per_class for f in files]
    rnd = random.Random(seed)
    out: list[Path] = []
    for files in per_class:
        out.extend(rnd.sample(files, max(1, round(limit * len(files) / total))))
    return out[:limit]


def reencode(data: bytes, width: int) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im = im.convert("RGB")
        height = round(im.height * width / im.width)
        big = im.resize((width, height), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def mosaic(sources: list[bytes], width: int, height: int) -> bytes:
    """Real photos tiled at their own resolution into one ``width x height`` JPEG (quality 90, 4:2:0): the
    detail density of a real large photo, which an upscaled small one lacks."""
    canvas = Image.new("RGB", (width, height))
    tiles = [Image.open(io.BytesIO(s)).convert("RGB") for s in sources]
    i = 0
    for y in range(0, height, 320):
        for x in range(0, width, 420):
            canvas.paste(tiles[i % len(tiles)].resize((420, 320)), (x, y))
            i += 1
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=90, subsampling=2)
    return buf.getvalue()


def large(sources: list[bytes], width: int) -> list[bytes]:
    """``sources`` at ``width`` px wide (500: 500x375 for a 4:3 photo, the web size of the reader issue)."""
    if width >= 4000:  # 12 MP: mosaics, each starting from a different photo
        return [mosaic(sources[i:] + sources[:i], width, width * 3 // 4) for i in range(len(sources))]
    return [reencode(s, width) for s in sources]


def load_groups(limit: int, data: Path = DATA) -> dict[str, list[bytes]]:
    files = stratified_files(limit, data=data)
    photos = [f.read_bytes() for f in files]
    groups = {f"imagewoof-320 ({len(photos)} photos)": photos}
    sources = photos[:: max(1, len(photos) // LARGE_SOURCES)][:LARGE_SOURCES]
    for width in LARGE_WIDTHS:
        groups[f"{width} wide ({len(sources)} x{LARGE_REPEATS})"] = large(sources, width) * LARGE_REPEATS
    return groups


# ----------------------------------------------------------------------------------------------- timing
def time_group(blobs: list[bytes], methods: dict[str, Callable[[bytes], object]]) -> dict[str, dict[str, float]]:
    for data in blobs[:10]:  # warm-up: imports, caches, malloc arenas
        for fn in methods.values():
            fn(data)
    times: dict[str, list[float]] = {name: [] for name in methods}
    for data in blobs:
        for name, fn in methods.items():
            t0 = time.perf_counter()
            fn(data)
            times[name].append(time.perf_counter() - t0)
    return {
        name: {
            "median_ms": 1000 * statistics.median(ts),
            "images_per_s": len(ts) / sum(ts),
            "n": len(ts),
        }
        for name, ts in times.items()
    }


def thread_scaling(blobs: list[bytes], fn: Callable[[bytes], object], repeats: int = 2) -> dict[str, float]:
    out = {}
    for workers in (1, 2):
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fn, blobs[:50]))  # warm-up
            t0 = time.perf_counter()
            for _ in range(repeats):
                list(pool.map(fn, blobs))
            out[f"threads_{workers}_images_per_s"] = repeats * len(blobs) / (time.perf_counter() - t0)
    out["speedup"] = out["threads_2_images_per_s"] / out["threads_1_images_per_s"]
    p = gil_free_fraction(blobs, fn)
    out["gil_free_fraction"] = p
    out["amdahl_2_thread_bound"] = min(2.0, 1 / max(1 - p, 1e-9))
    return out


class _TimedLib:
    """Stands in for the cffi ``lib`` of jpegdct.reader and adds up the time spent inside its calls."""

    def __init__(self, lib: object) -> None:
        self._lib = lib
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Callable[..., object]:
        fn = getattr(self._lib, name)

        def timed(*args: object) -> object:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                self.seconds += time.perf_counter() - t0

        return timed


def gil_free_fraction(blobs: list[bytes], fn: Callable[[bytes], object]) -> float:
    """Share of single-thread time spent inside the reader's C calls (cffi drops the GIL around them).

    With p that share, two threads can reach at most min(2, 1 / (1 - p)) times one thread's throughput:
    an Amdahl bound that, unlike the measured speed-up, does not depend on idle cores.
    """
    import jpegdct.reader as reader

    timed = _TimedLib(reader.lib)
    reader.lib = timed  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        for data in blobs:
            fn(data)
        total = time.perf_counter() - t0
    finally:
        reader.lib = timed._lib  # type: ignore[assignment]
    return timed.seconds / total


# ----------------------------------------------------------------------------------------------- memory
def _hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def memprobe(method: str, source: Path) -> int:
    """Peak RSS growth (KiB) over the steady state while one method processes one image, in this process.

    The image comes ready-made from a file: building a large one here would leave freed heap behind that
    the method's buffers then reuse unseen."""
    data = source.read_bytes()
    fn = build_methods()[method]
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
    base = _rss_kib()
    fn(data)
    return max(0, _hwm_kib() - base)


def peak_memory(source: Path) -> dict[str, dict[str, float]]:
    """Each (method, size) in a fresh subprocess so no earlier run's heap hides its peak (includes C buffers)."""
    out: dict[str, dict[str, float]] = {method: {} for method in LABELS}
    with tempfile.TemporaryDirectory() as tmp:
        for width in (0, 1920, 4032):
            image = Path(tmp) / f"{width}.jpg"  # a temporary file outside the repository, removed after
            image.write_bytes(source.read_bytes() if width == 0 else large([source.read_bytes()], width)[0])
            for method in LABELS:
                proc = subprocess.run(
                    [sys.executable, __file__, "--memprobe", method, str(image)],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=Path(__file__).resolve().parent.parent,
                )
                out[method]["320" if width == 0 else str(width)] = int(proc.stdout.strip()) / 1024
    return out


# ---------------------------------------------------------------------------------------------- machine
def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    libjpeg = "unknown"
    try:
        import jpegdct.reader  # noqa: F401  (loads the extension, so its libjpeg shows in our maps)

        maps = Path("/proc/self/maps").read_text()
        lib = next(line.split()[-1] for line in maps.splitlines() if "libjpeg" in line)
        pkg = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True, check=False).stdout.split(":")[0]
        ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=False)
        libjpeg = f"{Path(lib).resolve().name} ({pkg} {ver.stdout})" if pkg else Path(lib).resolve().name
    except (StopIteration, OSError):
        pass
    load = os.getloadavg()
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable",
        "python": platform.python_version(),
        "jpegdct libjpeg": libjpeg,
        "simplejpeg": simplejpeg.__version__,
        "opencv": cv2.__version__,
        "pillow": f"{Image.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')})",
        "numpy": np.__version__,
        "load average at start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


# ------------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="class folders of JPEGs (default: ../shared/...)")
    parser.add_argument("--limit", type=int, default=2000, help="photos from the 320 set, stratified; 0 = all")
    parser.add_argument("--json", type=Path, help="write machine-readable results here")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-method peak-memory subprocesses")
    parser.add_argument("--memprobe", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memprobe:
        method, source = args.memprobe
        print(memprobe(method, Path(source)))
        return

    info = machine()
    print("Machine:")
    for key, value in info.items():
        print(f"  {key:22s} {value}")
    groups = load_groups(args.limit, args.data)
    methods = build_methods()
    results: dict[str, object] = {"machine": info, "groups": {}}
    ratio_rows = []
    for group, blobs in groups.items():
        r = time_group(blobs, methods)
        results["groups"][group] = r  # type: ignore[index]
        print(f"\n{group}: single thread, per image")
        print(f"  {'method':42s} {'median ms':>10s} {'images/s':>10s}")
        for name, row in r.items():
            print(f"  {LABELS[name]:42s} {row['median_ms']:10.3f} {row['images_per_s']:10.1f}")
        fastest = min(RESIZE_224, key=lambda m: r[m]["median_ms"])
        ours = r["ours_dct"]["median_ms"]
        served_rgb = r["ours_rgb_input224"]["median_ms"] / ours
        ratio_rows.append(
            (group, fastest, r[fastest]["median_ms"] / ours, served_rgb, r["dctnet_pixel_448"]["median_ms"] / ours)
        )

    print(
        "\nSpeed-up of the served DCT read = baseline median / ours (targets vs the fastest decode+resize:"
        " >= 3x at <= 0.5 MP, >= 1.5x at 1-2 MP, >= 1.2x at 12 MP; vs the served RGB read: >= 1x, 2.5x at 500 px)"
    )
    print(f"  {'group':28s} {'fastest decode+resize 224':42s} {'ratio':>7s} {'vs RGB read':>12s} {'vs DCTNet':>10s}")
    for group, fastest, r_resize, r_rgb, r_dctnet in ratio_rows:
        print(f"  {group:28s} {LABELS[fastest]:42s} {r_resize:6.2f}x {r_rgb:11.2f}x {r_dctnet:9.1f}x")
    results["ratios"] = [
        {"group": g, "fastest_resize224": f, "vs_fastest_resize224": a, "vs_served_rgb_read": b, "vs_dctnet_pixels": c}
        for g, f, a, b, c in ratio_rows
    ]

    photos = next(iter(groups.values()))
    from inputs.dct import dct_input
    from jpegdct import read_coefficients

    contract = served_contract()
    scaling = {
        "ours_dct": thread_scaling(photos, lambda d: dct_input(d, contract)),
        "ours_all": thread_scaling(photos, read_coefficients),
    }
    results["threads"] = scaling
    print(f"\nThreadPoolExecutor on the 320 set (target >= 1.8x on 2 cores; {info['cores']})")
    print("  (measured speed-up needs 2 idle cores; the bound min(2, 1/(1-p)) uses p = share of time without GIL)")
    print(f"  {'method':42s} {'1 thread img/s':>15s} {'2 threads img/s':>16s} {'speed-up':>9s} {'p':>5s} {'bound':>6s}")
    for name, s in scaling.items():
        print(
            f"  {LABELS[name]:42s} {s['threads_1_images_per_s']:15.1f} {s['threads_2_images_per_s']:16.1f}"
            f" {s['speedup']:8.2f}x {s['gil_free_fraction']:5.2f} {s['amdahl_2_thread_bound']:5.2f}x"
        )

    if not args.no_memory:
        source = stratified_files(args.limit, data=args.data)[0]
        mem = peak_memory(source)
        results["peak_memory_mib"] = mem
        print(f"\nPeak RSS growth per image (MiB; fresh process each; C buffers included; {source.name})")
        print(f"  {'method':42s} {'320 px':>8s} {'1920 px':>8s} {'12 MP':>8s}")
        for name, row in mem.items():
            print(f"  {LABELS[name]:42s} {row['320']:8.1f} {row['1920']:8.1f} {row['4032']:8.1f}")

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
