"""Only here to hand setuptools the cffi extension; all metadata lives in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["jpegdct/_build.py:ffibuilder"])
