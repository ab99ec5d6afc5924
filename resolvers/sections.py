"""Board sections: their writes, and the reads behind `Board.sections` and
`BoardSection.pins`. A section is only reached through a board already resolved for this
viewer, so it is visible exactly where its board is. Every write is one statement in
`graph/repos/sections.py`; the board's cached page follows from its domain event.
"""

from __future__ import annotations

from graph.model import Board, Pin
from graph.repos.sections import Section
from resolvers.context import Context
from resolvers.reads import Listing


async def create(ctx: Context, board_id: str, name: str) -> Section:
    section = await ctx.repos.sections.create(ctx.require_user(), board_id, name)
    ctx.fresh_loaders()
    return section


async def delete(ctx: Context, section_id: str) -> bool:
    await ctx.repos.sections.delete(ctx.require_user(), section_id)
    ctx.fresh_loaders()
    return True


async def of_board(ctx: Context, board: Board) -> list[Section]:
    """The sections of a board resolved for this viewer, from its cached page."""
    page = ctx.pages.get(board.id) or await ctx.board_cache.page(board, ctx.viewer_id)
    return page.sections


async def pins(ctx: Context, section: Section, first: int, after: str | None) -> Listing[Pin]:
    page = await ctx.repos.sections.pins(section.board_id, section.id, first, after)

    async def count() -> int:
        return section.pin_count

    return Listing(page, count)
