"""Helpers shared by the load-client tests (a uniquely named module: test folders here are not packages)."""

import io
import socket
from pathlib import Path

from PIL import Image


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_jpegs(folder: Path, count: int = 6) -> Path:
    """``count`` small JPEGs of varied size and colour, some in a sub-folder with an upper-case suffix."""
    for i in range(count):
        img = Image.new("RGB", (48 + 8 * i, 40 + 4 * i), (40 * i % 256, 90, 200 - 20 * i))
        img.paste((255, 255, 255), (4, 4, 20, 20))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        path = folder / ("nested" if i % 2 else ".") / (f"img{i}.JPEG" if i % 3 == 0 else f"img{i}.jpg")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.getvalue())
    return folder
