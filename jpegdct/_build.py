"""cffi build script for the libjpeg-turbo extension (``jpegdct._jpegdct``), run by setuptools."""

from pathlib import Path

from cffi import FFI

_HERE = Path(__file__).parent

ffibuilder = FFI()
ffibuilder.cdef((_HERE / "_cdef.h").read_text())
ffibuilder.set_source(
    "jpegdct._jpegdct",
    '#include "_cdef.h"\n' + "\n".join((_HERE / name).read_text() for name in ("_reader.c", "_resample.c")),
    libraries=["jpeg"],
    include_dirs=[str(_HERE)],
    extra_compile_args=["-O3", "-Wno-psabi"],  # -O3: the resampling loops vectorize; psabi: inlined vector helpers
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
