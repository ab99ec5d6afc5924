"""Visual search reads: search by an uploaded image (or a region of it), similar pins."""

from __future__ import annotations

from dataclasses import dataclass

from graph.model import Pin, page_size
from media.service import check_image_key
from resolvers.context import Context
from visual.preprocess import Crop
from visual.service import Match


@dataclass(frozen=True)
class VisualHit:
    pin: Pin
    distance: float


async def search_by_image(
    ctx: Context, image_key: str, crop: Crop | None, first: int
) -> list[VisualHit]:
    """Needs a signed-in user: a new image or a region costs a model run."""
    ctx.require_user()
    check_image_key(image_key)
    limit = page_size(first)
    if limit == 0:
        return []
    matches = await ctx.visual.search_by_image(image_key, crop, limit)
    return await _loaded(ctx, matches)


async def visually_similar(ctx: Context, pin: Pin, first: int) -> list[Pin]:
    limit = page_size(first)
    if limit == 0:
        return []
    matches = await ctx.visual.similar_to_pin(pin, limit)
    return [hit.pin for hit in await _loaded(ctx, matches)]


async def _loaded(ctx: Context, matches: list[Match]) -> list[VisualHit]:
    pins = await ctx.loaders.pin.load_many([match.pin_id for match in matches])
    return [VisualHit(pin, match.distance)
            for pin, match in zip(pins, matches, strict=True) if pin is not None]  # fmt: skip
