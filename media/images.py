"""Checking an uploaded image and making its renditions (Pillow; CPU-bound, so run in a thread).

Only JPEG, PNG, WebP and GIF (first frame) are accepted, recognised by their content. The pixel
count is read from the header and checked before anything is decoded, so a decompression bomb
costs nothing. Every rendition is re-encoded from pixels: EXIF (GPS included), XMP, ICC and
comments are dropped, after the EXIF orientation has been applied.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from enum import StrEnum

from PIL import Image, ImageOps, UnidentifiedImageError

from domain.errors import BadInput

FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
MAX_ORIGINAL_SIDE = 4096  # larger originals are scaled down; WebP itself stops at 16383
WEBP_QUALITY = 80
ORIENTATION = 0x0112  # the EXIF tag


class Size(StrEnum):
    THUMB = "THUMB"
    SMALL = "SMALL"
    MEDIUM = "MEDIUM"
    ORIGINAL = "ORIGINAL"


WIDTHS = {Size.THUMB: 236, Size.SMALL: 474, Size.MEDIUM: 736}
CONTENT_TYPES = {"jpg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class Rendition:
    data: bytes
    extension: str  # "jpg" or "webp"
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


@dataclass(frozen=True)
class Processed:
    key: str  # sha256 of the uploaded bytes
    width: int
    height: int
    dominant_color: str
    renditions: dict[Size, Rendition]


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def process(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Processed:
    """Validate `data` and render it; BadInput says what is wrong with a refused file."""
    if not data:
        raise BadInput("the file is empty")
    if len(data) > max_bytes:
        raise BadInput(f"the file is larger than {max_bytes:,} bytes")
    source, image = _open(data, max_pixels)
    original = _limit(image, MAX_ORIGINAL_SIDE)
    if original is image and _plain_jpeg(source):
        renditions = {Size.ORIGINAL: _reencode_jpeg(source)}
    else:
        renditions = {Size.ORIGINAL: _encode(original, for_original=True)}
    # Each size is scaled from the next larger one: far cheaper than three from the original.
    scaled = original
    for size in (Size.MEDIUM, Size.SMALL, Size.THUMB):
        scaled = _scaled(scaled, WIDTHS[size], aspect=original.height / original.width)
        renditions[size] = _encode(scaled, for_original=False)
    return Processed(
        key=content_key(data),
        width=original.width,
        height=original.height,
        dominant_color=dominant_color(scaled),
        renditions=dict(sorted(renditions.items())),
    )


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def on_white(image: Image.Image) -> Image.Image:
    """RGB, with transparent pixels laid over white (what a page behind the picture shows)."""
    if not has_alpha(image):
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _open(data: bytes, max_pixels: int) -> tuple[Image.Image, Image.Image]:
    """The decoded file and its upright RGB(A) pixels, without any metadata."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:  # Pillow's own, far higher, limit
        message = f"the image is too large: at most {max_pixels:,} pixels are accepted"
        raise BadInput(message) from None
    except UnidentifiedImageError:
        raise BadInput("not an image in an accepted format (JPEG, PNG, WebP, GIF)") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise BadInput(f"the image cannot be read: {error}") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise BadInput("the image has no pixels")
    if width * height > max_pixels:
        raise BadInput(
            f"the image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(0)  # GIF: the first frame
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombWarning) as error:
        raise BadInput(f"the image is truncated or corrupt: {error}") from None
    pixels = upright.convert("RGBA" if has_alpha(upright) else "RGB")
    pixels.info = {}  # no EXIF, XMP or ICC profile can ride along into an encoder
    return image, pixels


def _plain_jpeg(source: Image.Image) -> bool:
    """An upright RGB JPEG: its original can keep the uploader's quantisation tables."""
    orientation = source.getexif().get(ORIENTATION, 1)
    return source.format == "JPEG" and source.mode == "RGB" and orientation in (0, 1)


def _reencode_jpeg(source: Image.Image) -> Rendition:
    """Re-encode with the file's own quality settings: about the uploaded size, instead of
    growing it by a fifth at quality 90, and still without any metadata."""
    source.info = {}
    out = io.BytesIO()
    source.save(out, "JPEG", quality="keep", subsampling="keep")
    return Rendition(out.getvalue(), "jpg", source.width, source.height)


def _limit(image: Image.Image, side: int) -> Image.Image:
    if max(image.size) <= side:
        return image
    scale = side / max(image.size)
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.LANCZOS,
        reducing_gap=3.0,
    )


def _scaled(image: Image.Image, width: int, *, aspect: float) -> Image.Image:
    """Scale to `width`, keeping the original's aspect ratio; never scale up."""
    if image.width <= width:
        return image
    height = max(1, round(width * aspect))
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image, *, for_original: bool) -> Rendition:
    """Originals as JPEG (quality 90; WebP when there is transparency), the display sizes as
    WebP. WebP is about 45% smaller but costs ten times JPEG's encoding time, which matters
    most for the largest rendition (about 55 ms for a megapixel)."""
    out = io.BytesIO()
    if for_original and image.mode == "RGB":
        image.save(out, "JPEG", quality=90)
        extension = "jpg"
    else:
        image.save(out, "WEBP", quality=90 if for_original else WEBP_QUALITY, method=2)
        extension = "webp"
    return Rendition(out.getvalue(), extension, image.width, image.height)


def sniff_content_type(data: bytes) -> str:
    """The type of a stored rendition, from its first bytes."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    return "application/octet-stream"


def dominant_color(image: Image.Image) -> str:
    """The most common of five colours of a small copy, as #rrggbb."""
    small = image.convert("RGB").resize((48, 48), Image.Resampling.BILINEAR)
    palette = small.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    counts = sorted(palette.getcolors() or [], key=lambda pair: pair[0], reverse=True)
    colors = palette.getpalette() or [0, 0, 0]
    index = int(counts[0][1]) if counts else 0  # type: ignore[call-overload]
    red, green, blue = colors[3 * index : 3 * index + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"
