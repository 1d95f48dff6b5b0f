"""Bounded mutation fuzzing of the reader, in a subprocess so that a crash fails one test instead of pytest.

Every mutated input must either return or raise ``JpegError``: never another exception, never a signal,
never a hang. Run alone: ``python tests/jpegdct/test_fuzz.py 100000 0`` (count, seed) prints the stats.
"""

import io
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

FUZZ_INPUTS = int(os.environ.get("JPEGDCT_FUZZ_INPUTS", "100000"))
TIME_BUDGET_S = 60.0  # per 100,000 inputs (they take ~5 s on 2 busy cores); killed at 3x this
MAX_CALL_S = 1.0  # any single call slower than this is a hang candidate


def _seeds() -> list[bytes]:
    """Small, varied, valid JPEGs: baseline, progressive, restarts, optimized Huffman, gray, 4:4:4, EXIF."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:24, 0:40]
    smooth = np.stack([(x * 6) % 256, (y * 10) % 256, ((x + y) * 4) % 256], -1).astype(np.uint8)
    noise = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    variants: list[tuple[np.ndarray, dict[str, object]]] = [
        (smooth, {"quality": 75}),
        (smooth, {"quality": 90, "progressive": True}),
        (noise, {"quality": 50, "subsampling": 0, "restart_marker_blocks": 1}),
        (noise, {"quality": 95, "optimize": True, "subsampling": 1}),
        (smooth[..., 0], {"quality": 80}),
        (noise, {"quality": 30, "progressive": True, "subsampling": 0, "exif": exif}),
    ]
    out = []
    for img, kw in variants:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", **kw)
        out.append(buf.getvalue())
    return out


def _segment_length_fields(data: bytes) -> list[int]:
    """Offsets of the 2-byte length field of each marker segment before the first scan."""
    fields, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        fields.append(i + 2)
        if data[i + 1] == 0xDA:
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return fields


def _mutate(data: bytes, fields: list[int], rnd: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rnd.choice((1, 1, 1, 2, 3))):
        n = len(buf)
        if n < 4:
            break
        kind = rnd.randrange(8)
        if kind <= 1:  # bit flips
            for _ in range(rnd.randint(1, 8)):
                buf[rnd.randrange(n)] ^= 1 << rnd.randrange(8)
        elif kind == 2:  # byte insertion (often a marker byte)
            pos = rnd.randrange(n)
            buf[pos:pos] = bytes(rnd.choice((0xFF, 0x00, rnd.randrange(256))) for _ in range(rnd.randint(1, 4)))
        elif kind == 3:  # deletion
            pos = rnd.randrange(n)
            del buf[pos : pos + rnd.randint(1, 16)]
        elif kind == 4:  # truncation
            del buf[rnd.randrange(2, n) :]
        elif kind == 5:  # marker-segment length change
            field = rnd.choice(fields)
            if field + 2 <= n:
                old = int.from_bytes(buf[field : field + 2], "big")
                new = rnd.choice((0, 1, 2, old - 1, old + 1, old + rnd.randint(2, 64), 0xFFFF, rnd.randrange(65536)))
                buf[field : field + 2] = (new % 65536).to_bytes(2, "big")
        elif kind == 6:  # random byte overwrite, mostly in the headers (where the parsers are)
            pos = rnd.randrange(min(n, 700))
            buf[pos] = rnd.randrange(256)
        else:  # duplicate a chunk (repeats segments and scans)
            a = rnd.randrange(n)
            b = min(n, a + rnd.randint(1, 200))
            pos = rnd.randrange(n)
            buf[pos:pos] = buf[a:b]
    return bytes(buf)


def fuzz(count: int, seed: int) -> dict[str, object]:
    from jpegdct import JpegError, Limits, decode_rgb, read_coefficients, read_header
    from jpegdct.blocks import orient

    seeds = _seeds()
    fields = [_segment_length_fields(s) for s in seeds]
    # A mutated SOF can claim up to the default 50 Mpx, which lenient mode would then decode from zeros
    # (hundreds of MB, ~1 s). The size limits are tested elsewhere; here they keep each call small.
    strict, lenient = Limits(max_pixels=1 << 20), Limits(max_pixels=1 << 20, strict=False)
    rnd = random.Random(seed)
    stats = {"inputs": 0, "returned": 0, "rejected": 0, "max_call_s": 0.0}
    t_start = time.perf_counter()
    for i in range(count):
        k = rnd.randrange(len(seeds))
        data = _mutate(seeds[k], fields[k], rnd)
        op = i % 4
        t0 = time.perf_counter()
        try:
            if op == 0:
                read_coefficients(data, limits=strict)
            elif op == 1:
                orient(read_coefficients(data, ((0, 1, 8, 9),) * 3, limits=lenient))
            elif op == 2:
                read_header(data, limits=lenient)
                decode_rgb(data, rnd.choice((2, 8)), limits=lenient)
            else:
                decode_rgb(data, limits=strict)
            stats["returned"] += 1
        except JpegError:
            stats["rejected"] += 1
        stats["max_call_s"] = max(stats["max_call_s"], time.perf_counter() - t0)
        stats["inputs"] += 1
    stats["seconds"] = time.perf_counter() - t_start
    return stats


def test_fuzz_mutated_jpegs_in_subprocess() -> None:
    budget = TIME_BUDGET_S * max(1.0, FUZZ_INPUTS / 100_000)
    try:
        proc = subprocess.run(
            [sys.executable, __file__, str(FUZZ_INPUTS), "12345"],
            capture_output=True,
            text=True,
            timeout=3 * budget,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"fuzz run did not finish within {3 * budget:.0f} s (a hang?)")
    if proc.returncode < 0:
        pytest.fail(f"reader crashed: killed by {signal.Signals(-proc.returncode).name}\n{proc.stderr[-3000:]}")
    assert proc.returncode == 0, f"a non-JpegError escaped:\n{proc.stderr[-3000:]}"
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["inputs"] == FUZZ_INPUTS
    assert stats["returned"] > 0 and stats["rejected"] > 0  # the mutator reaches both outcomes
    assert stats["max_call_s"] < MAX_CALL_S, stats
    assert stats["seconds"] < budget, stats


if __name__ == "__main__":
    print(json.dumps(fuzz(int(sys.argv[1]), int(sys.argv[2]))))
