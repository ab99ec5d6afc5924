"""Validation and renditions, with real and hostile files."""

import io

import pytest
from PIL import Image

from domain.errors import BadInput
from media.images import Size, process, sniff_content_type
from tests.utils import images


def test_renditions_keep_the_aspect_and_never_grow() -> None:
    result = process(images.jpeg(1600, 1000))
    assert (result.width, result.height) == (1600, 1000)
    sizes = {size: Image.open(io.BytesIO(r.data)).size for size, r in result.renditions.items()}
    assert sizes == {
        Size.ORIGINAL: (1600, 1000),
        Size.MEDIUM: (736, 460),
        Size.SMALL: (474, 296),
        Size.THUMB: (236, 148),
    }
    small = process(images.jpeg(200, 100))
    assert {r.width for r in small.renditions.values()} == {200}
    assert result.renditions[Size.ORIGINAL].extension == "jpg"
    assert result.renditions[Size.THUMB].extension == "webp"
    assert sniff_content_type(result.renditions[Size.THUMB].data) == "image/webp"
    assert result.dominant_color.startswith("#")
    assert len(result.dominant_color) == 7


def test_accepted_formats_by_content() -> None:
    for fmt in ("PNG", "WEBP", "GIF"):
        mode = "P" if fmt == "GIF" else "RGBA"
        result = process(images.encoded(fmt, mode=mode))
        assert (result.width, result.height) == (300, 200), fmt
    transparent = process(images.encoded("PNG"))
    assert transparent.renditions[Size.ORIGINAL].extension == "webp"  # keeps its alpha
    gif = process(images.animated_gif())
    assert (gif.width, gif.height) == (120, 80)


@pytest.mark.parametrize("rotate", [True, False], ids=["rotated", "upright"])
def test_exif_and_gps_are_removed_and_orientation_applied(rotate: bool) -> None:
    upload = images.jpeg(400, 300, gps=True, rotate=rotate)
    assert b"Exif" in upload
    result = process(upload)
    assert (result.width, result.height) == ((300, 400) if rotate else (400, 300))
    for rendition in result.renditions.values():
        stored = Image.open(io.BytesIO(rendition.data))
        assert not stored.getexif()
        assert not {"exif", "xmp", "icc_profile"} & set(stored.info)
        assert b"Exif" not in rendition.data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"this is a text file, named photo.jpg", "not an image"),
        (images.SVG, "not an image"),
        (images.jpeg()[:2000], "truncated or corrupt"),
        (images.png_bomb(), "at most 40,000,000 pixels"),
        (images.encoded("BMP", mode="RGB"), "not an image"),
    ],
    ids=["empty", "text", "svg", "truncated-jpeg", "png-bomb", "bmp"],
)
def test_bad_files_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        process(data)


def test_byte_cap() -> None:
    data = images.jpeg()
    with pytest.raises(BadInput, match="larger than"):
        process(data, max_bytes=len(data) - 1)
