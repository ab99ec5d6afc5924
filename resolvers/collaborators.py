"""Shared boards: the owner's invites and removals, the invitee's answers, a collaborator
leaving, and the reads behind `Board.viewerRole`, `Board.collaborators` and
`User.boardInvites`. Every write is one statement in `graph/repos/collaborators.py`; what
it changes elsewhere (board pages, feeds, notifications) follows from its domain event.
"""

from __future__ import annotations

from graph.model import Board, Page, User
from graph.repos.collaborators import Invite, check_id
from resolvers.context import Context
from resolvers.reads import Listing


async def invite(ctx: Context, board_id: str, user_id: str) -> Invite:
    """Invite, within the viewer's invite limit: malformed ids are refused first, and only an
    invite that is created counts (inviting again, or a refused invite, does not)."""
    viewer = ctx.require_user()
    check_id(board_id, "boardId")
    check_id(user_id, "userId")
    if ctx.invite_limits is not None:
        await ctx.invite_limits.check(viewer)
    found = await ctx.repos.collaborators.invite(viewer, board_id, user_id)
    if found.created and ctx.invite_limits is not None:
        await ctx.invite_limits.count(viewer)
    ctx.fresh_loaders()
    return found


async def accept(ctx: Context, invite_id: str) -> Board:
    board = await ctx.repos.collaborators.accept(ctx.require_user(), invite_id)
    ctx.fresh_loaders()
    return board


async def decline(ctx: Context, invite_id: str) -> bool:
    await ctx.repos.collaborators.decline(ctx.require_user(), invite_id)
    ctx.fresh_loaders()
    return True


async def remove(ctx: Context, board_id: str, user_id: str) -> Board:
    board = await ctx.repos.collaborators.remove(ctx.require_user(), board_id, user_id)
    ctx.fresh_loaders()
    return board


async def leave(ctx: Context, board_id: str) -> bool:
    left = await ctx.repos.collaborators.leave(ctx.require_user(), board_id)
    ctx.fresh_loaders()
    return left


async def invites(ctx: Context, user_id: str) -> list[Invite]:
    """The viewer's own pending invites; empty for anyone else's user."""
    if ctx.viewer_id is None or ctx.viewer_id != user_id:
        return []
    return await ctx.repos.collaborators.invites_of(user_id)


async def shared_boards(
    ctx: Context, user_id: str, first: int, after: str | None
) -> Listing[Board]:
    """Boards the viewer collaborates on; empty for anyone else's user."""
    if ctx.viewer_id is None or ctx.viewer_id != user_id:
        return nothing()
    page = await ctx.repos.collaborators.shared_with(user_id, first, after)
    return Listing(page, lambda: ctx.repos.collaborators.shared_with_count(user_id))


async def is_member(ctx: Context, board: Board) -> bool:
    """Whether the viewer owns or collaborates on a board they have found visible."""
    viewer = ctx.viewer_id
    if viewer is None:
        return False
    return board.owner_id == viewer or await ctx.loaders.board_member.load(board.id)


async def collaborators(ctx: Context, board: Board, first: int, after: str | None) -> Listing[User]:
    page = await ctx.repos.collaborators.members(board.id, first, after)
    return Listing(page, lambda: ctx.loaders.board_collaborator_count.load(board.id))


def nothing[T]() -> Listing[T]:
    """An empty list: what an invitee sees of a secret board's pins or collaborators."""

    async def count() -> int:
        return 0

    return Listing(Page([], [], has_next=False), count)
