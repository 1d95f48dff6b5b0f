"""cffi build script for the libjpeg-turbo extension (``jpegdct._jpegdct``), run by setuptools."""

from pathlib import Path

from cffi import FFI

_HERE = Path(__file__).parent

ffibuilder = FFI()
ffibuilder.cdef((_HERE / "_cdef.h").read_text())
ffibuilder.set_source(
    "jpegdct._jpegdct",
    '#include "_cdef.h"\n' + (_HERE / "_reader.c").read_text(),
    libraries=["jpeg"],
    include_dirs=[str(_HERE)],
    extra_compile_args=["-O2"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
