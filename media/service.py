"""Images as the rest of pingraph sees them: upload once, look up, link, and collect garbage.

Objects live under `images/<sha256>/`: one object per rendition (`thumb`, `small`, `medium`,
`original`, stored with their content type) and a `meta.json` written last,
so an image exists once its metadata does. The key is the hash of the uploaded bytes, so the
same file uploaded twice is stored once. `meta.json` is rewritten ("touched") whenever a pin
is about to use the image; garbage collection only removes images untouched for longer than a
grace period, so it cannot race a pin being created.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from domain.errors import BadInput, NotFound
from events.bus import EventSink
from events.model import Event, EventType
from media import images
from media.images import Size
from media.store import ImageStore

PREFIX = "images/"
KEY = re.compile(r"^[0-9a-f]{64}$")
DEFAULT_URL_TTL_S = 3600


@dataclass(frozen=True)
class ImageInfo:
    key: str
    width: int
    height: int
    dominant_color: str
    extensions: dict[str, str]  # size name -> file extension
    bytes_stored: int
    touched_at: float

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "width": self.width,
                "height": self.height,
                "dominantColor": self.dominant_color,
                "extensions": self.extensions,
                "bytesStored": self.bytes_stored,
                "touchedAt": self.touched_at,
            }
        ).encode()

    @classmethod
    def from_json(cls, key: str, raw: bytes) -> ImageInfo:
        data = json.loads(raw)
        return cls(
            key,
            int(data["width"]),
            int(data["height"]),
            str(data["dominantColor"]),
            dict(data["extensions"]),
            int(data["bytesStored"]),
            float(data["touchedAt"]),
        )


@dataclass(frozen=True)
class Upload:
    info: ImageInfo
    created: bool  # False when the same bytes were stored before


@dataclass
class Collected:
    """What garbage collection found (and removed, unless it was a dry run)."""

    images: list[str] = field(default_factory=list)
    objects: int = 0
    bytes: int = 0


def check_image_key(key: str) -> str:
    if not isinstance(key, str) or not KEY.match(key):
        raise BadInput("imageKey must be the 64-character key POST /media answered")
    return key


def object_key(key: str, size: Size | str) -> str:
    return f"{PREFIX}{key}/{Size(size.upper()).value.lower()}"


class ImageService:
    def __init__(
        self,
        store: ImageStore,
        events: EventSink,
        *,
        max_bytes: int = images.DEFAULT_MAX_BYTES,
        max_pixels: int = images.DEFAULT_MAX_PIXELS,
        url_ttl_s: int = DEFAULT_URL_TTL_S,
    ) -> None:
        self.store = store
        self.events = events
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.url_ttl_s = url_ttl_s

    async def upload(self, data: bytes, *, actor: str = "") -> Upload:
        """Validate, render and store an image; the same bytes again cost one look-up.
        `actor` is the uploading user ("" for an operator or the demo loader)."""
        key = images.content_key(data)
        try:
            return Upload(await self.touch(key), created=False)
        except NotFound:
            pass
        processed = await asyncio.to_thread(
            images.process, data, max_bytes=self.max_bytes, max_pixels=self.max_pixels
        )
        renditions = processed.renditions
        await asyncio.gather(
            *(
                self.store.put(object_key(key, size), r.data, r.content_type)
                for size, r in renditions.items()
            )
        )
        info = ImageInfo(
            key,
            processed.width,
            processed.height,
            processed.dominant_color,
            {size.value: r.extension for size, r in renditions.items()},
            sum(len(r.data) for r in renditions.values()),
            time.time(),
        )
        await self.store.put(f"{PREFIX}{key}/meta.json", info.to_json(), "application/json")
        await self.events.publish(Event(EventType.IMAGE_STORED, actor=actor, image=key))
        return Upload(info, created=True)

    async def info(self, key: str) -> ImageInfo:
        raw = await self.store.get(f"{PREFIX}{check_image_key(key)}/meta.json")
        return ImageInfo.from_json(key, raw)

    async def touch(self, key: str) -> ImageInfo:
        """Mark an image as in use now (see the module docstring); NotFound when missing."""
        info = await self.info(key)
        touched = ImageInfo(**{**info.__dict__, "touched_at": time.time()})
        await self.store.put(f"{PREFIX}{key}/meta.json", touched.to_json(), "application/json")
        return touched

    async def rendition(self, key: str, size: str) -> tuple[bytes, str]:
        """The bytes and content type of one rendition."""
        check_image_key(key)
        try:
            name = object_key(key, size)
        except ValueError:
            raise NotFound(f"no size {size!r}: use thumb, small, medium or original") from None
        data = await self.store.get(name)
        return data, images.sniff_content_type(data)

    @cached_property
    def stable_urls(self) -> bool:
        """Whether an image's URL is the same every time (the app's own route), unlike a
        presigned one, which carries its expiry."""
        return self.store.presigned_url(object_key("probe", "SMALL"), self.url_ttl_s) is None

    def url(self, key: str, size: str) -> str:
        """Presigned for MinIO/S3 (a client fetches it directly); the app's route otherwise."""
        direct = self.store.presigned_url(object_key(key, size), self.url_ttl_s)
        return direct if direct is not None else f"/media/{key}/{size.lower()}"

    async def remove(self, key: str) -> None:
        """Delete an image's objects, metadata first so it stops existing at once."""
        await self.store.delete(f"{PREFIX}{key}/meta.json")
        for stored in await self.store.list(f"{PREFIX}{key}/"):
            await self.store.delete(stored.key)

    async def collect_garbage(
        self,
        referenced: Callable[[list[str]], Awaitable[set[str]]],
        *,
        grace_s: float,
        dry_run: bool,
        progress: Callable[[int, int], None] | None = None,
    ) -> Collected:
        """Remove images no pin references that were last touched more than `grace_s` ago.

        Objects without metadata (an upload that died half-way) count from their own age.
        """
        objects = await self.store.list(PREFIX)
        by_image: dict[str, list[tuple[str, float, int]]] = {}
        for stored in objects:
            image = stored.key.removeprefix(PREFIX).split("/", 1)[0]
            by_image.setdefault(image, []).append((stored.key, stored.modified_at, stored.size))
        cutoff = time.time() - grace_s
        old = [image for image, parts in by_image.items() if _last_touch(parts) < cutoff]
        collected = Collected()
        for done, chunk in enumerate(_chunks(old, 500), start=1):
            in_use = await referenced(chunk)
            for image in chunk:
                if image in in_use:
                    continue
                parts = by_image[image]
                collected.images.append(image)
                collected.objects += len(parts)
                collected.bytes += sum(size for _, _, size in parts)
                if not dry_run:
                    await self.remove(image)
            if progress:
                progress(min(done * 500, len(old)), len(old))
        return collected


def _last_touch(parts: list[tuple[str, float, int]]) -> float:
    return max(modified for _, modified, _ in parts)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
