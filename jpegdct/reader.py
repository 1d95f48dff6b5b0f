"""JPEG bytes -> quantized DCT coefficients (entropy decoding only), and libjpeg's scaled pixel decode.

Coefficient order is natural row-major ``8*v+u`` (libjpeg's and DCTNet's), channel-first per component:
``[channels, blocks_h, blocks_w]``. Every function here is pure: bytes in, arrays out, no globals touched
(apart from a one-time malloc tuning at import).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from jpegdct._jpegdct import ffi, lib
from jpegdct.errors import InvalidJpeg, JpegTooLarge, UnsupportedJpeg
from jpegdct.exif import exif_orientation

DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_DIMENSION = 30_000
DEFAULT_MAX_SCANS = 100

# libjpeg's J_COLOR_SPACE values.
_COLOR_SPACES = {1: "Grayscale", 2: "RGB", 3: "YCbCr", 4: "CMYK", 5: "YCCK"}

lib.fs_tune_malloc(32 * 1024 * 1024)


@dataclass(frozen=True)
class Limits:
    """Checked from the header, before any coefficient or pixel buffer is allocated."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_dimension: int = DEFAULT_MAX_DIMENSION
    max_scans: int = DEFAULT_MAX_SCANS
    strict: bool = True  # libjpeg warnings (corrupt / truncated entropy data) are errors


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class BlockWindow:
    """A rectangle of a component's block grid, in blocks as stored (before any EXIF orientation)."""

    top: int
    left: int
    height: int
    width: int


@dataclass(frozen=True)
class Component:
    """One colour component: the selected channels on the component's own block grid. With a ``window``
    only the blocks inside it were read; the others are zero."""

    coefficients: np.ndarray  # int16 [len(channels), blocks_h, blocks_w]
    channels: tuple[int, ...]
    quant_table: np.ndarray  # uint16 [64], natural order
    h_samp: int
    v_samp: int
    window: BlockWindow | None = None

    @property
    def quant_steps(self) -> np.ndarray:
        """Quantization step of each selected channel (multiply to dequantize)."""
        return self.quant_table[list(self.channels)]


@dataclass(frozen=True)
class JpegHeader:
    width: int
    height: int
    num_components: int
    color_space: str
    progressive: bool
    arithmetic: bool
    precision: int
    h_samp: tuple[int, ...]
    v_samp: tuple[int, ...]
    orientation: int
    restart_interval: int

    @property
    def subsampling(self) -> str:
        """Chroma subsampling as 4:a:b ("4:2:0", "4:4:4", ...), or "gray"."""
        if self.num_components == 1:
            return "gray"
        h, v = self.h_samp[0] // self.h_samp[1], self.v_samp[0] // self.v_samp[1]
        return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1"}.get(
            (h, v), f"{self.h_samp}x{self.v_samp}"
        )


@dataclass(frozen=True)
class JpegCoefficients:
    header: JpegHeader
    components: tuple[Component, ...]

    @property
    def width(self) -> int:
        return self.header.width

    @property
    def height(self) -> int:
        return self.header.height

    @property
    def has_chroma(self) -> bool:
        return len(self.components) >= 3

    @property
    def orientation(self) -> int:
        return self.header.orientation


class _Decoder:
    """Owns one libjpeg context and keeps the input buffer alive while libjpeg points into it."""

    def __init__(self, data: bytes | bytearray | memoryview, limits: Limits) -> None:
        if len(data) == 0:
            raise InvalidJpeg("empty input: expected JPEG bytes")
        if bytes(data[:2]) != b"\xff\xd8":
            raise InvalidJpeg("not a JPEG: missing SOI marker (FF D8)")
        self._buf = ffi.from_buffer(data)
        ctx = lib.fs_new()
        if ctx == ffi.NULL:
            raise MemoryError("cannot create a libjpeg context")
        self._ctx = ffi.gc(ctx, lib.fs_free)
        self.info = ffi.new("fs_info *")
        self._check(
            lib.fs_read_header(self._ctx, self._buf, len(data), int(limits.strict), limits.max_scans, self.info)
        )
        self.header = self._header()
        self._validate(limits)

    def _check(self, rc: int) -> None:
        if rc == 0:
            return
        msg = ffi.string(lib.fs_message(self._ctx)).decode("utf-8", "replace")
        kind = lib.fs_unsupported(self._ctx)
        if kind == 2:  # libjpeg's own dimension cap (65500 px): a size refusal like ours, not a corrupt file
            raise JpegTooLarge(f"image too large: {msg}")
        if kind:
            raise UnsupportedJpeg(f"unsupported JPEG: {msg}")
        raise InvalidJpeg(f"invalid JPEG: {msg}")

    def _header(self) -> JpegHeader:
        info = self.info
        n = info.num_components
        exif = ffi.buffer(info.exif, info.exif_len)[:] if info.exif != ffi.NULL else b""
        return JpegHeader(
            width=info.image_width,
            height=info.image_height,
            num_components=n,
            color_space=_COLOR_SPACES.get(info.jpeg_color_space, f"unknown({info.jpeg_color_space})"),
            progressive=bool(info.progressive),
            arithmetic=bool(info.arith_code),
            precision=info.data_precision,
            h_samp=tuple(info.h_samp[i] for i in range(n)),
            v_samp=tuple(info.v_samp[i] for i in range(n)),
            orientation=exif_orientation(exif) if exif else 1,
            restart_interval=info.restart_interval,
        )

    def _validate(self, limits: Limits) -> None:
        h = self.header
        if h.width > limits.max_dimension or h.height > limits.max_dimension:
            raise JpegTooLarge(f"image is {h.width}x{h.height}; the longest side allowed is {limits.max_dimension} px")
        if h.width * h.height > limits.max_pixels:
            raise JpegTooLarge(
                f"image is {h.width}x{h.height} = {h.width * h.height} pixels; the limit is {limits.max_pixels}"
            )
        if h.arithmetic:
            raise UnsupportedJpeg("unsupported JPEG: arithmetic coding")
        if h.precision != 8:
            raise UnsupportedJpeg(f"unsupported JPEG: {h.precision}-bit samples (only 8-bit)")
        if h.color_space in ("CMYK", "YCCK") or h.num_components not in (1, 3):
            raise UnsupportedJpeg(
                f"unsupported JPEG: {h.color_space} with {h.num_components} components (only YCbCr or grayscale)"
            )

    def coefficients(
        self, channels: Sequence[Sequence[int]] | None, windows: Sequence[BlockWindow | None] = ()
    ) -> tuple[Component, ...]:
        if self.header.color_space not in ("YCbCr", "Grayscale"):
            # e.g. an RGB JPEG (Adobe transform 0): its planes are R, G, B, not the Y/Cb/Cr that callers assume.
            # Pixel decoding handles it; coefficients would be silently wrong.
            raise UnsupportedJpeg(f"unsupported JPEG: {self.header.color_space} coefficients (only YCbCr or grayscale)")
        info = self.info
        n = info.num_components
        wanted = (
            [tuple(range(64))] * n if channels is None else [tuple(channels[i]) for i in range(min(n, len(channels)))]
        )
        for chans in wanted:
            if chans and (min(chans) < 0 or max(chans) > 63):  # min/max: a per-element check costs ~1% of a read
                raise ValueError(f"channel indices must be in [0, 64): {chans}")
        grids = [(info.height_in_blocks[i], info.width_in_blocks[i]) for i in range(len(wanted))]
        wins = [_clip_window(windows[i] if i < len(windows) else None, *grids[i]) for i in range(len(wanted))]
        arrays = [
            (np.empty if win is None else np.zeros)((len(chans), *grid), dtype=np.int16)
            for chans, grid, win in zip(wanted, grids, wins, strict=True)
        ]
        outs = ffi.new("short *[]", [ffi.from_buffer("short *", a) for a in arrays])
        nchan = ffi.new("int[]", [len(c) for c in wanted])
        flat = [c for chans in wanted for c in chans]
        idx = ffi.new("int[]", flat or [0])
        if any(w is not None for w in wins):
            rects = [
                (0, 0, *g) if w is None else (w.top, w.left, w.height, w.width)
                for w, g in zip(wins, grids, strict=True)
            ]
            win_ptr = ffi.new("int[]", [x for r in rects for x in r])
        else:
            win_ptr = ffi.NULL
        qtables = np.zeros((max(len(wanted), 1), 64), dtype=np.uint16)
        self._check(
            lib.fs_read_coefs(
                self._ctx, len(wanted), outs, nchan, idx, win_ptr, ffi.from_buffer("unsigned short *", qtables)
            )
        )
        return tuple(
            Component(arrays[i], wanted[i], qtables[i], info.h_samp[i], info.v_samp[i], wins[i])
            for i in range(len(wanted))
        )

    def pixels(self, scale_num: int) -> np.ndarray:
        if not 1 <= scale_num <= 16:
            raise ValueError(f"scale_num must be in 1..16 (scale = scale_num/8), got {scale_num}")
        self._check(lib.fs_start_pixels(self._ctx, scale_num, self.info))
        out = np.empty((self.info.out_height, self.info.out_width, 3), dtype=np.uint8)
        self._check(lib.fs_read_pixels(self._ctx, ffi.from_buffer("unsigned char *", out), out.strides[0]))
        return out


def _clip_window(window: BlockWindow | None, blocks_h: int, blocks_w: int) -> BlockWindow | None:
    """The window inside the grid (None when it covers all of it: nothing to skip)."""
    if window is None:
        return None
    top, left = min(max(window.top, 0), blocks_h), min(max(window.left, 0), blocks_w)
    bottom, right = (
        min(max(window.top + window.height, top), blocks_h),
        min(max(window.left + window.width, left), blocks_w),
    )
    if (top, left, bottom, right) == (0, 0, blocks_h, blocks_w):
        return None
    return BlockWindow(top, left, bottom - top, right - left)


def read_header(data: bytes | bytearray | memoryview, limits: Limits = DEFAULT_LIMITS) -> JpegHeader:
    """Parse and validate the header only (cheap: no entropy decoding)."""
    return _Decoder(data, limits).header


ChannelLists = Sequence[Sequence[int]] | None


@dataclass(frozen=True)
class ReadRequest:
    """What to copy out of the decode: ``channels`` as for ``read_coefficients`` and, per component, the
    ``BlockWindow`` of blocks wanted (None: all; a window is clipped to the grid). Blocks outside a window
    are still entropy-decoded (the bitstream is sequential) but not copied, and read as zero."""

    channels: "ChannelLists"
    windows: Sequence[BlockWindow | None] = ()


def read_coefficients(
    data: bytes | bytearray | memoryview,
    channels: "ChannelLists | ReadRequest | Callable[[JpegHeader], ChannelLists | ReadRequest]" = None,
    limits: Limits = DEFAULT_LIMITS,
) -> JpegCoefficients:
    """Entropy-decode ``data`` and return the quantized DCT coefficients of each component.

    ``channels``: per component, the natural-order indices to keep (others are never copied); ``None``
    keeps all 64; or a ``ReadRequest`` (channels and block windows). It may also be a function of the
    parsed header (so a caller can choose, say, by image size or orientation without parsing the header
    twice). Extra lists (e.g. chroma lists for a grayscale image) are ignored: the caller decides what "no
    chroma" means. Raises ``InvalidJpeg``, ``UnsupportedJpeg`` or ``JpegTooLarge``.
    """
    dec = _Decoder(data, limits)
    wanted = channels(dec.header) if callable(channels) else channels
    request = wanted if isinstance(wanted, ReadRequest) else ReadRequest(wanted)
    return JpegCoefficients(dec.header, dec.coefficients(request.channels, request.windows))


def decode_rgb(data: bytes | bytearray | memoryview, scale_num: int = 8, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """Decode to uint8 RGB ``[H, W, 3]`` at scale ``scale_num/8`` (libjpeg's DCT-domain scaled IDCT)."""
    return _Decoder(data, limits).pixels(scale_num)
