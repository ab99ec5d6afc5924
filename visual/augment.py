"""Deterministic image transforms that make near-duplicates of a picture.

They give the demo data several pictures of one photo, and the near-duplicate retrieval
benchmark its queries: an embedding should find the original from any of them. Randomness
only comes from the `random.Random` passed in, so a seeded generator gives the same result
every time. Every function returns a new RGB image and leaves its argument alone.

NEAR_DUPLICATES names the five kinds the benchmark uses, each at a fixed, modest strength.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable

import numpy as np
from PIL import Image

Transform = Callable[[Image.Image, random.Random], Image.Image]


def flip(image: Image.Image) -> Image.Image:
    """A mirror image (left and right swapped); same size."""
    return image.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def crop(image: Image.Image, fraction: float = 0.8, *, rng: random.Random) -> Image.Image:
    """A window `fraction` of the width by `fraction` of the height, at a random place.

    The result is that much smaller (it is not scaled back); 0.8 keeps 64% of the area.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    width, height = image.size
    window_width, window_height = round(width * fraction), round(height * fraction)
    left = rng.randint(0, width - window_width)
    top = rng.randint(0, height - window_height)
    return image.convert("RGB").crop((left, top, left + window_width, top + window_height))


def rotate(image: Image.Image, degrees: float) -> Image.Image:
    """Turned by `degrees` anticlockwise, then cut to the largest centred window of the same
    shape that holds no corner outside the photo, and scaled back to the original size.

    Meant for small angles: at 10 degrees a square loses a quarter of its area.
    """
    width, height = image.size
    turned = image.convert("RGB").rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)
    cos, sin = abs(math.cos(math.radians(degrees))), abs(math.sin(math.radians(degrees)))
    # A centred w*s x h*s window lies inside the turned w x h photo when its corners, turned
    # back, lie inside the photo.
    scale = min(width / (width * cos + height * sin), height / (width * sin + height * cos))
    keep_width, keep_height = width * scale, height * scale
    left, top = (width - keep_width) / 2, (height - keep_height) / 2
    # Rounding inwards, so no pixel of the black corners is kept.
    box = (
        math.ceil(left),
        math.ceil(top),
        math.floor(left + keep_width),
        math.floor(top + keep_height),
    )
    return turned.crop(box).resize((width, height), Image.Resampling.BICUBIC)


def reencode(image: Image.Image, quality: int) -> Image.Image:
    """The image after a JPEG round trip at `quality` (1-95): 85 is near invisible, below 40
    shows blocks and colour bleeding."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    out.seek(0)
    with Image.open(out) as decoded:
        return decoded.convert("RGB")


def colour_shift(
    image: Image.Image,
    rng: random.Random,
    *,
    hue: float = 0.04,
    saturation: float = 0.2,
    brightness: float = 0.15,
) -> Image.Image:
    """Hue turned by up to `hue` of a full turn (0.04 is about 14 degrees); saturation and
    brightness multiplied by a factor within 1 +- `saturation` and 1 +- `brightness`.
    Grey photos only change brightness."""
    hue_steps = round(rng.uniform(-hue, hue) * 256)
    saturation_factor = rng.uniform(1 - saturation, 1 + saturation)
    brightness_factor = rng.uniform(1 - brightness, 1 + brightness)
    hsv = np.asarray(image.convert("RGB").convert("HSV"), dtype=np.float64)
    hsv[..., 0] = (hsv[..., 0] + hue_steps) % 256  # hue is a circle
    hsv[..., 1] *= saturation_factor
    hsv[..., 2] *= brightness_factor
    channels = np.clip(np.rint(hsv), 0, 255).astype(np.uint8)
    bands = [Image.fromarray(np.ascontiguousarray(channels[..., i])) for i in range(3)]
    return Image.merge("HSV", bands).convert("RGB")


def _any_sign(rng: random.Random, low: float, high: float) -> float:
    return rng.uniform(low, high) * rng.choice((-1, 1))


NEAR_DUPLICATES: dict[str, Transform] = {
    "flip": lambda image, rng: flip(image),
    "crop": lambda image, rng: crop(image, 0.8, rng=rng),
    "rotate": lambda image, rng: rotate(image, _any_sign(rng, 4, 10)),
    "reencode": lambda image, rng: reencode(image, rng.randint(30, 50)),
    "colour": lambda image, rng: colour_shift(image, rng),
}
