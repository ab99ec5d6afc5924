"""Query and field resolvers: look-ups and lists, each a call into graph/ for one viewer.

Missing and hidden things look the same: a nullable field answers null, so a secret board's
id reveals nothing. Lists come back as a `Listing`: one page plus a lazy total count, which
costs a query only when a client asks for `totalCount`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cache.boards import PAGE_SIZE
from domain.errors import BadInput, Forbidden, NotFound
from domain.identity import Role
from graph.model import Board, Page, Pin, Topic, User, page_size
from graph.repos.comments import Comment
from resolvers.context import Context


@dataclass(frozen=True)
class Listing[T]:
    page: Page[T]
    count: Callable[[], Awaitable[int]]


async def me(ctx: Context) -> User | None:
    if ctx.viewer is None:
        return None
    if Role.USER not in ctx.viewer.roles:
        # Not null: a job holding a recommender or analyst token would read that as "signed
        # out" and never learn why.
        roles = ", ".join(sorted(role.value for role in ctx.viewer.roles))
        raise Forbidden(f"`me` needs a token with the 'user' role; this one has: {roles}")
    return await ctx.loaders.user.load(ctx.viewer.user_id)


async def user(ctx: Context, id_: str | None, handle: str | None) -> User | None:
    if (id_ is None) == (handle is None):
        raise BadInput("give exactly one of id and handle")
    if id_ is not None:
        return await ctx.loaders.user.load(id_)
    assert handle is not None
    try:
        return await ctx.repos.users.by_handle(handle)
    except NotFound:
        return None


async def board(ctx: Context, id_: str) -> Board | None:
    """A public board comes with its cached page (kept for `board_pins` and `pin_count`);
    any other id, secret or missing alike, is looked up for the viewer."""
    page = await ctx.board_cache.public_page(id_)
    if page is not None:
        ctx.pages[id_] = page
        return page.board
    return await ctx.loaders.board.load(id_)


async def board_pin_count(ctx: Context, board_id: str) -> int:
    page = ctx.pages.get(board_id)
    return page.pin_count if page else await ctx.loaders.board_pin_count.load(board_id)


async def topic(ctx: Context, name: str) -> Topic | None:
    try:
        return await ctx.repos.topics.get(name, ctx.viewer_id)
    except NotFound:
        return None


async def search_pins(ctx: Context, query: str, first: int, after: str | None) -> Listing[Pin]:
    page = await ctx.repos.pins.search(query, first, after)
    return Listing(page, lambda: ctx.repos.pins.search_count(query))


async def user_boards(ctx: Context, user_id: str, first: int, after: str | None) -> Listing[Board]:
    page = await ctx.repos.boards.of_user(user_id, ctx.viewer_id, first, after)
    return Listing(page, lambda: ctx.loaders.user_board_count.load(user_id))


async def user_pins(ctx: Context, user_id: str, first: int, after: str | None) -> Listing[Pin]:
    page = await ctx.repos.pins.of_user(user_id, ctx.viewer_id, first, after)
    return Listing(page, lambda: ctx.loaders.user_pin_count.load(user_id))


async def followers(ctx: Context, user_id: str, first: int, after: str | None) -> Listing[User]:
    page = await ctx.repos.users.followers(user_id, first, after)
    return Listing(page, lambda: ctx.loaders.user_follower_count.load(user_id))


async def following(ctx: Context, user_id: str, first: int, after: str | None) -> Listing[User]:
    page = await ctx.repos.users.following(user_id, first, after)
    return Listing(page, lambda: ctx.loaders.user_following_count.load(user_id))


async def followed_topics(
    ctx: Context, user_id: str, first: int, after: str | None
) -> Listing[Topic]:
    page = await ctx.repos.topics.followed_by(user_id, first, after)
    return Listing(page, lambda: ctx.repos.topics.followed_count(user_id))


async def board_pins(ctx: Context, board: Board, first: int, after: str | None) -> Listing[Pin]:
    """Pins of a board already resolved for this viewer, so known to be visible. The first
    page comes from the board cache when it is small enough."""
    limit = page_size(first)
    if after is None and limit <= PAGE_SIZE:
        cached = ctx.pages.get(board.id) or await ctx.board_cache.page(board, ctx.viewer_id)
        more = len(cached.pins) > limit or cached.pin_count > len(cached.pins)
        page = Page(cached.pins[:limit], cached.cursors[:limit], has_next=more)

        async def count() -> int:
            return cached.pin_count

        return Listing(page, count)
    page = await ctx.repos.boards.pins_of_visible(board.id, limit, after)
    return Listing(page, lambda: ctx.loaders.board_pin_count.load(board.id))


async def pin_boards(ctx: Context, pin_id: str, first: int, after: str | None) -> Listing[Board]:
    if after is None:
        page = await ctx.loaders.pin_first_boards.load((pin_id, page_size(first)))
    else:
        page = await ctx.repos.pins.boards(pin_id, ctx.viewer_id, first, after)
    return Listing(page, lambda: ctx.loaders.pin_save_count.load(pin_id))


async def topic_pins(ctx: Context, topic_: Topic, first: int, after: str | None) -> Listing[Pin]:
    page = await ctx.repos.topics.pins(topic_.name, ctx.viewer_id, first, after)
    return Listing(page, lambda: ctx.loaders.topic_pin_count.load(topic_.id))


async def pin_comments(
    ctx: Context, pin_id: str, first: int, after: str | None
) -> Listing[Comment]:
    """Comments on a pin already resolved for this viewer, so known to be visible."""
    page = await ctx.repos.comments.of_pin(pin_id, first, after)
    return Listing(page, lambda: ctx.loaders.pin_comment_count.load(pin_id))
