"""Preprocessing: orientation, colour, transparency, crops and the model's input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from domain.errors import BadInput
from visual import preprocess
from visual.preprocess import Crop


def encoded(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_input_shape_range_and_centre_crop() -> None:
    # A wide image: left third red, middle green, right third blue. The centre crop of the
    # 256-high scaled image sees only green.
    image = Image.new("RGB", (900, 300), (0, 255, 0))
    image.paste((255, 0, 0), (0, 0, 300, 300))
    image.paste((0, 0, 255), (600, 0, 900, 300))
    model_input = preprocess.to_input(preprocess.decode(encoded(image)))
    assert model_input.shape == (3, 224, 224)
    assert model_input.dtype == np.float32
    green = (255 - 127) / 128
    np.testing.assert_allclose(model_input[1], green, atol=0.02)
    np.testing.assert_allclose(model_input[0], -127 / 128, atol=0.02)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (400, 200), (255, 255, 255))
    image.paste((0, 0, 0), (0, 0, 200, 200))  # left half black as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: the black half ends up on top
    decoded = preprocess.decode(encoded(image, "JPEG", exif=exif, quality=95))
    assert decoded.size == (200, 400)
    assert decoded.getpixel((100, 50))[0] < 30
    assert decoded.getpixel((100, 350))[0] > 225


def test_transparent_pixels_are_white_and_grey_becomes_rgb() -> None:
    clear = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    assert preprocess.decode(encoded(clear)).getpixel((10, 10)) == (255, 255, 255)
    grey = Image.new("L", (300, 300), 90)
    assert preprocess.decode(encoded(grey)).getpixel((10, 10)) == (90, 90, 90)


def test_a_region_is_cut_in_stored_pixels_even_from_a_smaller_copy() -> None:
    stored = Image.new("RGB", (1000, 500), (255, 255, 255))
    stored.paste((255, 0, 0), (500, 0, 1000, 500))  # right half red
    smaller = stored.resize((500, 250))
    cut = preprocess.region(smaller, Crop(500, 0, 500, 500), (1000, 500))
    assert cut.size == (250, 250)
    assert cut.getpixel((125, 125)) == (255, 0, 0)


@pytest.mark.parametrize(
    ("crop", "message"),
    [
        (Crop(0, 0, 0, 10), "positive"),
        (Crop(0, 0, 10, -1), "positive"),
        (Crop(-1, 0, 10, 10), "not inside"),
        (Crop(950, 0, 100, 10), "not inside"),
        (Crop(0, 490, 10, 11), "not inside"),
    ],
)
def test_crops_outside_the_image_or_without_area_are_refused(crop: Crop, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        crop.check_inside(1000, 500)


def test_large_jpegs_decode_reduced_but_never_below_the_model_side() -> None:
    big = Image.new("RGB", (4000, 3000), (10, 20, 30))
    data = encoded(big, "JPEG", quality=80)
    reduced = preprocess.decode(data)
    assert min(reduced.size) >= preprocess.RESIZE_SIDE
    assert reduced.size[0] < 4000
    assert preprocess.decode(data, full_resolution=True).size == (4000, 3000)
