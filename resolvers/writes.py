"""Mutation resolvers: every one needs a signed-in user, and each is one graph transaction.

After a write the request's DataLoaders are replaced, so the fields read back in the same
response (counts, `viewerIsFollowing`) show the write.
"""

from __future__ import annotations

from graph.errors import BadInput
from graph.model import Board, Pin, Privacy, Topic, User
from graph.pins import NewPin
from resolvers.context import Context


async def create_board(
    ctx: Context,
    name: str,
    description: str | None,
    privacy: Privacy,
    topics: list[str] | None,
) -> Board:
    viewer = ctx.require_user()
    board = await ctx.repos.boards.create(viewer, name, description, privacy, topics)
    ctx.fresh_loaders()
    return board


async def update_board(
    ctx: Context,
    board_id: str,
    *,
    name: str | None,
    description: str | None,
    set_description: bool,
    privacy: Privacy | None,
    topics: list[str] | None,
) -> Board:
    viewer = ctx.require_user()
    board = await ctx.repos.boards.update(
        viewer, board_id, name=name, description=description,
        set_description=set_description, privacy=privacy, topics=topics,
    )  # fmt: skip
    ctx.fresh_loaders()
    return board


async def delete_board(ctx: Context, board_id: str) -> bool:
    await ctx.repos.boards.delete(ctx.require_user(), board_id)
    ctx.fresh_loaders()
    return True


async def create_pin(ctx: Context, new: NewPin, *, has_image: bool) -> Pin:
    viewer = ctx.require_user()
    if has_image:
        raise BadInput("pins with images are not accepted yet: leave out image and imageKey")
    pin = await ctx.repos.pins.create(viewer, new)
    ctx.fresh_loaders()
    return pin


async def delete_pin(ctx: Context, pin_id: str) -> bool:
    await ctx.repos.pins.delete(ctx.require_user(), pin_id)
    ctx.fresh_loaders()
    return True


async def save_pin(ctx: Context, pin_id: str, board_id: str) -> Pin:
    pin = await ctx.repos.pins.save(ctx.require_user(), pin_id, board_id)
    ctx.fresh_loaders()
    return pin


async def unsave_pin(ctx: Context, pin_id: str, board_id: str) -> bool:
    removed = await ctx.repos.pins.unsave(ctx.require_user(), pin_id, board_id)
    ctx.fresh_loaders()
    return removed


async def follow_user(ctx: Context, user_id: str, *, follow: bool) -> User:
    viewer = ctx.require_user()
    if follow:
        await ctx.repos.users.follow(viewer, user_id)
    else:
        await ctx.repos.users.unfollow(viewer, user_id)
    ctx.fresh_loaders()
    return await ctx.repos.users.get(user_id)


async def follow_board(ctx: Context, board_id: str, *, follow: bool) -> Board:
    viewer = ctx.require_user()
    boards = ctx.repos.boards
    board = await (boards.follow if follow else boards.unfollow)(viewer, board_id)
    ctx.fresh_loaders()
    return board


async def follow_topic(ctx: Context, name: str, *, follow: bool) -> Topic:
    viewer = ctx.require_user()
    topics = ctx.repos.topics
    topic = await (topics.follow if follow else topics.unfollow)(viewer, name)
    ctx.fresh_loaders()
    return topic


async def record_engagement(ctx: Context, pin_id: str, kind: str) -> bool:
    await ctx.repos.pins.engage(ctx.require_user(), pin_id, kind)
    return True
