"""Bad input -> the right typed exception (jpegdct.errors), quickly, without crashing or allocating."""

import io
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from jpegdct import (
    InvalidJpeg,
    JpegError,
    JpegTooLarge,
    Limits,
    UnsupportedJpeg,
    decode_rgb,
    read_coefficients,
    read_header,
)

READERS: list[Callable[..., object]] = [read_header, read_coefficients, decode_rgb]
LENIENT = Limits(strict=False)


def _sof(data: bytes) -> int:
    """Offset of the SOF0/SOF2 marker."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        i = data.find(marker)
        if i >= 0:
            return i
    raise AssertionError("no SOF marker")


def _sos(data: bytes) -> int:
    return data.index(b"\xff\xda")


def _scan_start(data: bytes) -> int:
    """First byte of entropy-coded data (after the first SOS segment)."""
    i = _sos(data)
    return i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")


def _with_size(data: bytes, width: int, height: int) -> bytes:
    i = _sof(data)
    out = bytearray(data)
    out[i + 5 : i + 7] = height.to_bytes(2, "big")
    out[i + 7 : i + 9] = width.to_bytes(2, "big")
    return bytes(out)


@pytest.fixture(scope="module")
def jpeg(kit: SimpleNamespace) -> bytes:
    return kit.encode(kit.noise_image(48, 64, seed=7), quality=80)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"", "empty input"),
        (np.random.default_rng(0).bytes(500), "missing SOI"),
        (_png(), "missing SOI"),
        (b"\xff\xd8", "invalid JPEG"),
        (b"\xff\xd8\xff\xd9", "invalid JPEG"),
        (b"\xff\xd8" + np.random.default_rng(1).bytes(300), "invalid JPEG"),
    ],
    ids=["empty", "random", "png", "soi-only", "soi-eoi", "soi-random"],
)
def test_not_a_jpeg(reader: Callable[..., object], blob: bytes, match: str) -> None:
    with pytest.raises(InvalidJpeg, match=match):
        reader(blob)


@pytest.mark.parametrize("reader", [read_coefficients, decode_rgb])
@pytest.mark.parametrize("where", ["header", "before-sos", "scan-start", "mid-scan", "before-eoi"])
@pytest.mark.parametrize("progressive", [False, True])
def test_truncated(kit: SimpleNamespace, reader: Callable[..., object], where: str, progressive: bool) -> None:
    data = kit.encode(kit.noise_image(48, 64, seed=7), quality=80, progressive=progressive)
    cut = {
        "header": 20,
        "before-sos": _sos(data),
        "scan-start": _scan_start(data) + 3,
        "mid-scan": (_scan_start(data) + len(data)) // 2,
        "before-eoi": len(data) - 2,
    }[where]
    with pytest.raises(InvalidJpeg):
        reader(data[:cut])
    if where in ("mid-scan", "before-eoi"):
        # libjpeg only warns about missing entropy data (and fills zeros): lenient mode returns.
        reader(data[:cut], limits=LENIENT)


@pytest.mark.parametrize("progressive", [False, True])
def test_corrupt_entropy_data_strict_raises_lenient_returns(kit: SimpleNamespace, progressive: bool) -> None:
    data = kit.encode(kit.noise_image(48, 64, seed=7), quality=80, progressive=progressive)
    start = _scan_start(data)
    # 64 one-bits (0xFF is stuffed as FF 00): no standard Huffman code is all ones, so this is a bad code.
    bad = data[: start + 10] + b"\xff\x00" * 8 + data[start + 26 :]
    with pytest.raises(InvalidJpeg, match="corrupt JPEG data"):
        read_coefficients(bad)
    with pytest.raises(InvalidJpeg, match="corrupt JPEG data"):
        decode_rgb(bad)
    jc = read_coefficients(bad, limits=LENIENT)
    assert jc.components[0].coefficients.shape == (64, 6, 8)
    assert decode_rgb(bad, limits=LENIENT).shape == (48, 64, 3)


def test_random_bit_flips_in_scan_are_typed(kit: SimpleNamespace) -> None:
    data = kit.encode(kit.noise_image(48, 64, seed=7), quality=80)
    start, rng = _scan_start(data), np.random.default_rng(11)
    outcomes = set()
    for _ in range(300):
        bad = bytearray(data)
        for pos in rng.integers(start, len(data) - 2, 3):
            bad[pos] ^= 1 << int(rng.integers(8))
        for limits in (Limits(), LENIENT):
            try:
                read_coefficients(bytes(bad), limits=limits)
                outcomes.add(("ok", limits.strict))
            except JpegError:
                outcomes.add(("error", limits.strict))
    assert ("error", True) in outcomes and ("ok", False) in outcomes


@pytest.mark.parametrize(
    ("width", "height"),
    [(65500, 65500), (65535, 65535), (30001, 8), (8000, 8000)],
    ids=["65500-square", "beyond-libjpeg-max", "too-long-side", "too-many-pixels"],
)
def test_huge_header_raises_too_large_before_allocating(jpeg: bytes, width: int, height: int) -> None:
    blob = _with_size(jpeg, width, height)
    assert issubclass(JpegTooLarge, UnsupportedJpeg)
    for reader in READERS:
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            with pytest.raises(JpegTooLarge, match="too large|allowed|limit"):
                reader(blob)
            elapsed = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # 65500^2 pixels would be ~25 GB of coefficients: refusing from the header takes microseconds and
        # allocates nothing image-sized (numpy buffers are traced by tracemalloc).
        assert peak < 1_000_000, peak
        assert elapsed < 0.5, elapsed


def test_custom_limits(jpeg: bytes) -> None:
    with pytest.raises(JpegTooLarge, match="3072 pixels; the limit is 3000"):
        read_coefficients(jpeg, limits=Limits(max_pixels=3000))
    with pytest.raises(JpegTooLarge, match="longest side allowed is 60"):
        decode_rgb(jpeg, limits=Limits(max_dimension=60))


def test_zero_size_header(jpeg: bytes) -> None:
    with pytest.raises(InvalidJpeg, match="Empty JPEG image"):
        read_coefficients(_with_size(jpeg, 0, 10))


def test_cmyk(kit: SimpleNamespace) -> None:
    buf = io.BytesIO()
    Image.fromarray(kit.noise_image(16, 16)).convert("CMYK").save(buf, "JPEG")
    for reader in READERS:
        with pytest.raises(UnsupportedJpeg, match="CMYK with 4 components"):
            reader(buf.getvalue())


def test_rgb_jpeg_coefficients_unsupported_but_pixels_decode(kit: SimpleNamespace, cjpeg: Callable) -> None:
    # Regression: an RGB JPEG's planes are R, G, B; they used to be returned as if they were Y, Cb, Cr.
    img = kit.smooth_image(16, 24)
    data = cjpeg(["-rgb", "-quality", "95"], img)
    assert read_header(data).color_space == "RGB"
    with pytest.raises(UnsupportedJpeg, match="RGB coefficients"):
        read_coefficients(data)
    assert np.abs(decode_rgb(data).astype(int) - img).mean() < 3


def test_arithmetic_coding_patched_sof(jpeg: bytes) -> None:
    i = _sof(jpeg)
    blob = jpeg[: i + 1] + b"\xc9" + jpeg[i + 2 :]  # SOF0 -> SOF9 (arithmetic, sequential)
    for reader in READERS:
        with pytest.raises(UnsupportedJpeg, match="arithmetic"):
            reader(blob)


def test_arithmetic_coding_jpegtran(jpeg: bytes, jpegtran: Callable[[list[str], bytes], bytes]) -> None:
    blob = jpegtran(["-arithmetic"], jpeg)
    for reader in READERS:
        with pytest.raises(UnsupportedJpeg, match="arithmetic"):
            reader(blob)


def test_12_bit_precision(jpeg: bytes) -> None:
    i = _sof(jpeg)
    blob = jpeg[: i + 4] + bytes([12]) + jpeg[i + 5 :]
    for reader in READERS:
        with pytest.raises(UnsupportedJpeg, match="12"):
            reader(blob)


def test_too_many_progressive_scans(kit: SimpleNamespace) -> None:
    data = kit.encode(kit.noise_image(32, 32), progressive=True)
    n_scans = data.count(b"\xff\xda")
    assert n_scans > 3
    with pytest.raises(InvalidJpeg, match="too many progressive scans"):
        read_coefficients(data, limits=Limits(max_scans=3))
    read_coefficients(data, limits=Limits(max_scans=n_scans))
    # A hostile file: the last scan repeated 2000 times. Strict mode stops at the bogus progression, lenient
    # mode at the scan limit; both well before decoding 2000 scans.
    last = data[data.rindex(b"\xff\xda") : -2]
    hostile = data[:-2] + last * 2000 + b"\xff\xd9"
    t0 = time.perf_counter()
    with pytest.raises(InvalidJpeg, match="corrupt JPEG data|too many progressive scans"):
        read_coefficients(hostile)
    with pytest.raises(InvalidJpeg, match="too many progressive scans \\(more than 100\\)"):
        read_coefficients(hostile, limits=LENIENT)
    with pytest.raises(InvalidJpeg, match="too many progressive scans"):
        decode_rgb(hostile, limits=LENIENT)
    assert time.perf_counter() - t0 < 1.0


def test_many_valid_scans_from_jpegtran(kit: SimpleNamespace, jpegtran: Callable, tmp_path: Path) -> None:
    # jpegtran's scan scripts stop at 100 scans: 1 DC scan + 33 AC bands per component (32 single
    # coefficients, then 33-63). Exactly at the default limit: accepted; a lower limit refuses it.
    bands = [(k, k) for k in range(1, 33)] + [(33, 63)]
    script = ["0,1,2: 0-0, 0, 0;"] + [f"{c}: {lo}-{hi}, 0, 0;" for c in range(3) for lo, hi in bands]
    path = tmp_path / "scans.txt"
    path.write_text("\n".join(script))
    data = jpegtran(["-scans", str(path)], kit.encode(kit.noise_image(16, 16)))
    assert data.count(b"\xff\xda") == 100
    baseline = read_coefficients(kit.encode(kit.noise_image(16, 16)))
    jc = read_coefficients(data)
    np.testing.assert_array_equal(jc.components[1].coefficients, baseline.components[1].coefficients)
    with pytest.raises(InvalidJpeg, match="too many progressive scans \\(more than 50\\)"):
        read_coefficients(data, limits=Limits(max_scans=50))


def test_hostile_exif_yields_orientation_1(jpeg: bytes) -> None:
    payloads = [
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff",  # IFD claims 65535 entries, has none
        b"Exif\x00\x00MM\x00*\xff\xff\xff\xf0",  # IFD offset past the end
        b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x04\x00\xff\xff\xff\xff\x06\x00",  # LONG, huge count
        b"Exif\x00\x00XX*\x00\x08\x00\x00\x00",  # bad byte order
        b"Exif\x00\x00",
    ]
    for payload in payloads:
        app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
        blob = jpeg[:2] + app1 + jpeg[2:]
        jc = read_coefficients(blob)
        assert jc.orientation == 1
        assert read_header(blob).orientation == 1


def test_errors_are_value_errors() -> None:
    # Callers that only know ValueError still catch reader errors.
    assert issubclass(JpegError, ValueError)
    for cls in (InvalidJpeg, UnsupportedJpeg, JpegTooLarge):
        assert issubclass(cls, JpegError)
