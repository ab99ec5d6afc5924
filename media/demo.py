"""Pictures for demo pins: real photos shipped with scikit-image (media/photos.py), one per topic.

Every topic has the photo that fits it best (TOPIC_PHOTOS; with twenty photos for forty topics
some share one). Variant 0 of a topic is its photo scaled to 600 px wide; the other variants
are mild near-duplicates of it (a crop window, a colour shift, every other one mirrored: see
visual/augment.py), so a topic's pins differ but clearly show the same subject. Pictures are
JPEGs at quality 85, the same bytes for the same topic and variant.

A pool of `variants` pictures per topic is made and stored once (keys are content hashes);
pins of a topic share them round-robin, so a demo graph of any size has pictures after a few
seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
from collections.abc import Callable
from typing import Any

from PIL import Image

from media.photos import load_photo
from media.service import ImageInfo, ImageService
from visual.augment import colour_shift, crop, flip

WIDTH = 600
JPEG_QUALITY = 85
PARALLEL = 2  # Pillow releases the GIL while it decodes, scales and encodes

TOPIC_PHOTOS = {
    "home decor": "brick.png",
    "recipes": "coffee.png",
    "travel": "rocket.jpg",
    "fashion": "astronaut.png",  # the only portrait
    "diy": "brick.png",
    "gardening": "grass.png",
    "fitness": "astronaut.png",
    "art": "color.png",
    "photography": "camera.png",
    "weddings": "astronaut.png",
    "tattoos": "astronaut.png",
    "hair": "astronaut.png",
    "makeup": "astronaut.png",
    "architecture": "brick.png",
    "cars": "motorcycle_left.png",
    "quotes": "text.png",
    "crafts": "coins.png",
    "kids": "horse.png",
    "pets": "chelsea.png",
    "technology": "rocket.jpg",
    "design": "logo.png",
    "illustration": "horse.png",
    "nature": "grass.png",
    "vintage": "clock_motion.png",
    "minimalism": "moon.png",
    "baking": "coffee.png",
    "vegan": "coffee.png",
    "coffee": "coffee.png",
    "books": "page.png",
    "music": "clock_motion.png",  # nothing musical ships; a spinning blur, like a record
    "film": "camera.png",
    "knitting": "ihc.png",  # its brown loops look like yarn more than anything else does
    "interior": "brick.png",
    "street style": "motorcycle_right.png",
    "hiking": "gravel.png",
    "camping": "hubble_deep_field.jpg",  # the starry sky over a tent
    "beaches": "gravel.png",  # a pebble beach
    "cocktails": "coffee.png",
    "ceramics": "coffee.png",  # a cup and saucer
    "typography": "text.png",
}


def picture(topic: str, variant: int, width: int = WIDTH) -> bytes:
    """A JPEG for `topic` (a key of TOPIC_PHOTOS): the same topic and variant always give
    the same bytes."""
    image = load_photo(TOPIC_PHOTOS[topic])
    if variant:
        image = _near_duplicate(
            image, random.Random(_seed(topic, variant)), mirrored=variant % 2 == 1
        )
    scaled = image.resize(
        (width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS
    )
    out = io.BytesIO()
    scaled.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _seed(topic: str, variant: int) -> int:
    return int(hashlib.sha256(f"{topic}/{variant}".encode()).hexdigest(), 16)


def _near_duplicate(image: Image.Image, rng: random.Random, *, mirrored: bool) -> Image.Image:
    window = crop(image, rng.uniform(0.75, 0.9), rng=rng)
    shifted = colour_shift(window, rng, hue=0.03, saturation=0.15, brightness=0.1)
    return flip(shifted) if mirrored else shifted


async def attach_images(
    images: ImageService,
    pins: list[dict[str, Any]],
    *,
    variants: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Give every pin row (with `topics` and `image`) a picture of its first topic.

    Returns how many distinct pictures were stored (topics sharing a photo share variant 0).
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
            data = await asyncio.to_thread(picture, topic, variant)
            stored[(topic, variant)] = (await images.upload(data)).info
        if progress:
            progress(len(stored), len(wanted))

    await asyncio.gather(*(make(topic, variant) for topic, variant in wanted))
    for number, chosen in choice.items():
        info = stored[chosen]
        pins[number]["image"] = {
            "imageKey": info.key,
            "width": info.width,
            "height": info.height,
            "dominantColor": info.dominant_color,
        }
    return len({info.key for info in stored.values()})
