"""One rule per input property, the same for every model kind (the README's error table states them).

A photo is accepted or refused for what it is, never for which model it was sent to or how large it is:
- colour space: YCbCr or grayscale. An RGB-colourspace JPEG (Adobe transform 0) would be decodable to
  pixels, but its coefficients are R, G, B planes that no DCT model or DC thumbnail can use; CMYK/YCCK are
  refused by the reader itself.
- chroma sampling: each chroma plane at 1, 1/2 or 1/4 of the luma resolution per axis (4:4:4, 4:2:2, 4:4:0,
  4:2:0, 4:1:1, ...): exact to bring to the 4:2:0 grid in the DCT domain at any downscale. Others (3x, or
  chroma finer than luma) are refused.
"""

from jpegdct import JpegHeader, UnsupportedJpeg

COLOR_SPACES = ("YCbCr", "Grayscale")
CHROMA_RATIOS = (1, 2, 4)


def chroma_ratios(header: JpegHeader) -> list[tuple[int, int]]:
    """(vertical, horizontal) luma/chroma sampling ratio of each chroma component; raises if not whole."""
    out = []
    for h, v in zip(header.h_samp[1:], header.v_samp[1:], strict=True):
        if header.v_samp[0] % v or header.h_samp[0] % h:
            raise UnsupportedJpeg(f"unsupported JPEG: chroma sampling {header.subsampling}")
        out.append((header.v_samp[0] // v, header.h_samp[0] // h))
    return out


def check_supported(header: JpegHeader) -> None:
    """Raise ``UnsupportedJpeg`` for a photo that no model kind accepts (see the module docstring)."""
    if header.color_space not in COLOR_SPACES:
        raise UnsupportedJpeg(f"unsupported JPEG: {header.color_space} colour space (only YCbCr or grayscale)")
    for rv, rh in chroma_ratios(header):
        if rv not in CHROMA_RATIOS or rh not in CHROMA_RATIOS:
            raise UnsupportedJpeg(f"unsupported JPEG: chroma sampling {header.subsampling}")
