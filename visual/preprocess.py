"""Turning an image into the model's input, the same way everywhere (indexing and searching).

1. Apply the EXIF orientation, so a photo is seen the way people see it.
2. Make it RGB; transparent pixels are laid over white.
3. Cut out the requested region (a crop in pixels of the image as stored), if any.
4. Scale the shorter side to 256 pixels (bilinear, antialiased).
5. Cut the central 224x224 square.
6. Normalise as EfficientNet-Lite was trained: (pixel - 127) / 128, in [-1, 1). (The Lite
   weights come from TensorFlow's `efficientnet/lite` builder, whose MEAN_RGB is 127 and
   STDDEV_RGB 128; with ImageNet's mean and deviation instead, the top-1 class is the same on
   the test photos but less confident.)
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from domain.errors import BadInput
from media.images import on_white

RESIZE_SIDE = 256
CROP_SIDE = 224
MEAN = 127.0
STD = 128.0


@dataclass(frozen=True)
class Crop:
    """A region in pixels of the image as stored (after its EXIF orientation)."""

    x: int
    y: int
    width: int
    height: int

    def check_inside(self, width: int, height: int) -> None:
        if self.width <= 0 or self.height <= 0:
            raise BadInput("crop width and height must be positive")
        if self.x < 0 or self.y < 0 or self.x + self.width > width or self.y + self.height > height:
            raise BadInput(
                f"the crop ({self.x}, {self.y}, {self.width}x{self.height}) is not inside "
                f"the {width}x{height} image"
            )


def decode(data: bytes, *, full_resolution: bool = False) -> Image.Image:
    """Decode, oriented and RGB. A large JPEG decodes at a reduced scale (still at least
    256 pixels a side) unless a crop needs its `full_resolution`: most of the cost saved."""
    image: Image.Image = Image.open(io.BytesIO(data))
    if not full_resolution:
        image.draft("RGB", (RESIZE_SIDE, RESIZE_SIDE))
    return on_white(ImageOps.exif_transpose(image))


def region(image: Image.Image, crop: Crop, stored_size: tuple[int, int]) -> Image.Image:
    """The crop, given in pixels of the stored image, cut from `image` (maybe a smaller copy)."""
    crop.check_inside(*stored_size)
    sx, sy = image.width / stored_size[0], image.height / stored_size[1]
    box = (
        round(crop.x * sx),
        round(crop.y * sy),
        max(round((crop.x + crop.width) * sx), round(crop.x * sx) + 1),
        max(round((crop.y + crop.height) * sy), round(crop.y * sy) + 1),
    )
    return image.crop(box)


def to_input(image: Image.Image) -> np.ndarray:
    """The model input for one RGB image: float32, shape (3, 224, 224)."""
    scale = RESIZE_SIDE / min(image.size)
    size = (max(CROP_SIDE, round(image.width * scale)), max(CROP_SIDE, round(image.height * scale)))
    resized = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - CROP_SIDE) // 2, (size[1] - CROP_SIDE) // 2
    square = resized.crop((left, top, left + CROP_SIDE, top + CROP_SIDE))
    pixels = np.asarray(square, dtype=np.float32)
    return ((pixels - MEAN) / STD).transpose(2, 0, 1)
