"""Pictures for demo pins: per topic a palette, shapes and the topic's name, drawn with Pillow.

A pool of `variants` pictures per topic is generated and stored once (keys are content
hashes); pins of a topic share them round-robin, so a demo graph of any size has pictures
after a few seconds of drawing.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import io
import random
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from media.service import ImageInfo, ImageService

ASPECTS = (1.0, 1.25, 1.5, 0.75, 1.33)  # height / width: pins are mostly tall
PARALLEL = 2  # Pillow releases the GIL while it draws and encodes


def draw(topic: str, variant: int, width: int = 600) -> bytes:
    """A JPEG for `topic`: the same topic and variant always give the same bytes."""
    rng = random.Random(int(hashlib.sha256(f"{topic}/{variant}".encode()).hexdigest(), 16))
    hue = int(hashlib.sha256(topic.encode()).hexdigest()[:4], 16) / 0xFFFF
    height = int(width * ASPECTS[variant % len(ASPECTS)])

    def color(shift: float, light: float) -> tuple[int, int, int]:
        red, green, blue = colorsys.hls_to_rgb((hue + shift) % 1.0, light, 0.55)
        return int(red * 255), int(green * 255), int(blue * 255)

    image = Image.new("RGB", (width, height), color(0, 0.85))
    pen = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(width // 12, width // 3)
        fill = color(rng.uniform(-0.08, 0.08), rng.uniform(0.35, 0.75))
        box = (x - radius, y - radius, x + radius, y + radius)
        if rng.random() < 0.5:
            pen.ellipse(box, fill=fill)
        else:
            pen.rectangle(box, fill=fill)
    font = ImageFont.load_default(size=width // 12)
    pen.rectangle((0, height - width // 6, width, height), fill=color(0, 0.2))
    pen.text((width // 20, height - width // 7), topic, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


async def attach_images(
    images: ImageService,
    pins: list[dict[str, Any]],
    *,
    variants: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Give every pin row (with `topics` and `image`) a picture of its first topic.

    Returns how many distinct pictures were stored.
    """
    choice = {
        number: (pin["topics"][0], number % variants)
        for number, pin in enumerate(pins)
        if pin["topics"]
    }
    wanted = sorted(set(choice.values()))  # only pictures some pin will show
    stored: dict[tuple[str, int], ImageInfo] = {}
    gate = asyncio.Semaphore(PARALLEL)

    async def make(topic: str, variant: int) -> None:
        async with gate:
            data = await asyncio.to_thread(draw, topic, variant)
            stored[(topic, variant)] = (await images.upload(data)).info
        if progress:
            progress(len(stored), len(wanted))

    await asyncio.gather(*(make(topic, variant) for topic, variant in wanted))
    for number, picture in choice.items():
        info = stored[picture]
        pins[number]["image"] = {
            "imageKey": info.key,
            "width": info.width,
            "height": info.height,
            "dominantColor": info.dominant_color,
        }
    return len(stored)
