"""Test images made on the fly: real formats, EXIF with GPS, and hostile files."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg(width: int = 640, height: int = 480, *, color: tuple[int, int, int] = (200, 80, 40),
         gps: bool = False, rotate: bool = False) -> bytes:  # fmt: skip
    image = Image.new("RGB", (width, height), color)
    for x in range(0, width, 40):  # some structure, so encoders have work to do
        image.paste((color[2], color[0], color[1]), (x, 0, x + 10, height))
    exif = Image.Exif()
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    if rotate:
        exif[ORIENTATION] = 6  # rotate 90 degrees clockwise to display
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def encoded(fmt: str, width: int = 300, height: int = 200, mode: str = "RGBA") -> bytes:
    image = Image.new(mode, (width, height), (10, 120, 200, 128) if mode == "RGBA" else 90)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("P", (120, 80), color) for color in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A tiny PNG that claims `width` x `height` pixels: its header is all a decoder needs."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * (width // 8 + 1) * 64)  # the first rows only
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10"/></svg>'
