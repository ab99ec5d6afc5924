"""Trending pins and boards: the stored ranking (cache/trending.py), shown while public.

The ranking is a few minutes old at most; a pin or board made secret or deleted since it was
computed is left out here, as everyone sees it: trending is public whoever asks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.errors import BadInput
from graph.model import MAX_PAGE, Board, Pin, topic_name
from resolvers.context import Context


def trending_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise BadInput(f"first must be between 1 and {MAX_PAGE}")
    return first


async def trending_pins(ctx: Context, topic: str | None, first: int) -> list[Pin]:
    """Overall, or of one topic, matched as `topic(name:)` matches it: a name no topic has
    gives an empty list, as `topic` answers null."""
    limit = trending_size(first)
    ranking = await ctx.trending.ranking()
    if topic is None:
        ids = ranking.pin_ids()
    else:
        try:
            ids = ranking.pin_ids(topic_name(topic))
        except BadInput:
            return []
    return await _public(ids, limit, lambda chunk: ctx.repos.pins.get_many(chunk, None))


async def trending_boards(ctx: Context, first: int) -> list[Board]:
    limit = trending_size(first)
    ids = (await ctx.trending.ranking()).board_ids()
    return await _public(ids, limit, lambda chunk: ctx.repos.boards.get_many(chunk, None))


async def _public[T](
    ids: list[str], limit: int, public: Callable[[list[str]], Awaitable[dict[str, T]]]
) -> list[T]:
    """The first `limit` of `ids`, in order, that anyone may see now."""
    shown: list[T] = []
    for at in range(0, len(ids), limit):
        chunk = ids[at : at + limit]
        found = await public(chunk)
        shown += [found[id_] for id_ in chunk if id_ in found]
        if len(shown) >= limit:
            break
    return shown[:limit]
