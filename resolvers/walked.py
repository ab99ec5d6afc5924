"""Walk-backed reads: related pins and the personalised home feed.

Both fall back to the graph store when no walk snapshot is loaded (or a pin is newer than the
snapshot). Walk results are public pins; they are still loaded through the viewer's
DataLoader, which drops pins deleted since the snapshot.
"""

from __future__ import annotations

import hashlib
import time
from itertools import zip_longest

from graph.model import Page, Pin, page_size
from graph.repos import cursor
from resolvers.context import Context
from resolvers.reads import Listing
from walks.engine import Query, WalkEngine
from walks.personal import feed_query, is_newcomer

RELATED_STEPS = 30_000
FEED_STEPS = 100_000
# A pin saved to no more boards than this (its creation board) gets visual neighbours too.
NEW_PIN_SAVES = 1
FEED_CANDIDATES = 300
FRESH = 100
FEED_WINDOW_S = 600  # without the feed cache: one ranking per user per ten minutes


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:7], "big")


async def related(ctx: Context, pin_id: str, first: int) -> list[Pin]:
    """Walk-ranked pins; for a pin saved nowhere but where it was created, which the walk
    knows little about, visual neighbours alternate with them, closest first."""
    limit = page_size(first)
    if not limit:
        return []
    walked = await _walk_related(ctx, pin_id, limit)
    if await ctx.loaders.pin_save_count.load(pin_id) > NEW_PIN_SAVES:
        return walked
    pin = await ctx.loaders.pin.load(pin_id)
    matches = await ctx.visual.similar_to_pin(pin, limit) if pin else []
    looks_alike = await ctx.loaders.pin.load_many([match.pin_id for match in matches])
    return _alternate([pin for pin in looks_alike if pin is not None], walked, limit)


async def _walk_related(ctx: Context, pin_id: str, limit: int) -> list[Pin]:
    query = Query(pins={pin_id: 1.0}, steps=RELATED_STEPS, top_k=2 * limit + 10,
                  seed=_seed("related", pin_id))  # fmt: skip
    result = await ctx.walks.run(query)
    if not result.unknown_pins:
        found = await ctx.loaders.pin.load_many([hit.pin_id for hit in result.items])
        return [pin for pin in found if pin is not None][:limit]
    return await ctx.repos.pins.related(pin_id, ctx.viewer_id, limit)


def _alternate(first: list[Pin], second: list[Pin], limit: int) -> list[Pin]:
    """Take from each list in turn, each pin once."""
    blended: dict[str, Pin] = {}
    for pair in zip_longest(first, second):
        for pin in pair:
            if pin is not None and len(blended) < limit:
                blended.setdefault(pin.id, pin)
    return list(blended.values())


async def home_feed(ctx: Context, first: int, after: str | None) -> Listing[Pin]:
    """Walk-ranked pins from the viewer's history, two for every fresh pin from what they
    follow; leaving out what they saved or hid. New users' walks start from trending pins."""
    viewer = ctx.require_user()
    limit = page_size(first)
    position = cursor.decode(after, int, int, int)
    offset, generation, window = position if position else (0, None, _window())
    cached = await ctx.feed_cache.get(viewer, generation)
    if cached is not None:
        generation, ranked = cached
    else:
        ranked = await _rank(ctx, ctx.walks, viewer, window)
        generation = await ctx.feed_cache.put(viewer, ranked)
    # Only as many pins as the page shows are loaded (deleted or hidden ones are skipped);
    # cursors are positions in the ranked list, so later pages continue where this one ended.
    shown: list[Pin] = []
    cursors: list[str] = []
    index = offset
    while len(shown) < limit and index < len(ranked):
        chunk = ranked[index : index + limit - len(shown) + 5]
        for pin in await ctx.loaders.pin.load_many(chunk):
            index += 1
            if pin is not None:
                shown.append(pin)
                cursors.append(cursor.encode(index, generation, window))
                if len(shown) == limit:
                    break
    page = Page(shown, cursors, has_next=index < len(ranked))

    async def total() -> int:
        return sum(pin is not None for pin in await ctx.loaders.pin.load_many(ranked))

    return Listing(page, total)


def _window() -> int:
    return int(time.time() // FEED_WINDOW_S)


async def _rank(ctx: Context, engine: WalkEngine, viewer: str, window: int) -> list[str]:
    signals = await ctx.repos.feed.signals(viewer, public_only=False)
    trending = await ctx.trending.current() if is_newcomer(signals) else None
    base = Query(pins={}, steps=FEED_STEPS, top_k=FEED_CANDIDATES,
                 seed=_seed("feed", viewer, str(window)))  # fmt: skip
    walked = await engine.run(feed_query(signals, engine.graph, base, trending))
    fresh = await ctx.repos.feed.home(viewer, FRESH, None)
    return _interleave([hit.pin_id for hit in walked.items], [pin.id for pin in fresh.items])


def _interleave(walked: list[str], fresh: list[str]) -> list[str]:
    merged: list[str] = []
    seen: set[str] = set()
    walked_iter, fresh_iter = iter(walked), iter(fresh)
    while True:
        batch = [next(walked_iter, None), next(walked_iter, None), next(fresh_iter, None)]
        if all(item is None for item in batch):
            return merged
        for item in batch:
            if item is not None and item not in seen:
                seen.add(item)
                merged.append(item)
