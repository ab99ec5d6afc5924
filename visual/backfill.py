"""Indexing pins that have an image but no embedding (or all of them): `pingraph visual
index`, and the demo loader. Pages through pins by id, so it can be stopped and run again."""

from __future__ import annotations

from collections.abc import Callable

from graph.repos.visual import VisualRepo
from visual.service import VisualSearch

# Finding the next pins to index scans every pin with an image (about 1 s per 150,000 in
# FalkorDB), so pins are fetched 2,000 at a time and indexed 64 at a time (four model batches).
PAGE = 2_000
CHUNK = 64


async def backfill(
    search: VisualSearch,
    repo: VisualRepo,
    *,
    everything: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """(pins indexed, pins seen). `everything` re-indexes pins that have an embedding."""
    total = await repo.count_to_index(everything=everything)
    seen = indexed = 0
    after: str | None = None
    if progress:
        progress(0, total)
    while rows := await repo.pins_to_index(after, PAGE, everything=everything):
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            indexed += await search.index_pins(chunk)
            seen += len(chunk)
            if progress:
                progress(min(seen, total), total)
        after = rows[-1][0]
    return indexed, seen
