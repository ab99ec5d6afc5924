"""Mutation resolvers: every one needs a signed-in user, and each is one graph transaction.

What a write changes elsewhere (board caches, cached answers, the walk graph, feeds) follows
from the domain event its repository publishes, whichever door the write came in. Here, after
a write, only this request's DataLoaders are replaced, so the fields read back in the same
response (counts, `viewerIsFollowing`) show the write.
"""

from __future__ import annotations

from dataclasses import replace

from domain.errors import BadInput, NotFound
from graph.model import Board, Pin, Privacy, Topic, User
from graph.repos.comments import Comment, ReactionKind, comment_text
from graph.repos.pins import NewPin
from media.service import check_image_key
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


async def create_pin(
    ctx: Context, new: NewPin, *, image: bytes | None, image_key: str | None
) -> Pin:
    """Create a pin, with an uploaded image or one stored before (`image_key`).

    An image stored by this request for a pin that then fails is removed again, unless
    another pin uses the same bytes; `pingraph media gc` catches what a crash leaves behind.
    """
    viewer = ctx.require_user()
    if image is not None and image_key is not None:
        raise BadInput("give either image or imageKey, not both")
    upload = await ctx.images.upload(image, actor=viewer) if image is not None else None
    info = upload.info if upload else None
    if image_key is not None:
        try:
            info = await ctx.images.touch(check_image_key(image_key))
        except NotFound:
            raise BadInput(f"no image {image_key!r}: upload it with POST /media first") from None
    if info is not None:
        new = replace(
            new, image_key=info.key, width=info.width, height=info.height,
            dominant_color=info.dominant_color,
        )  # fmt: skip
    try:
        pin = await ctx.repos.pins.create(viewer, new)
    except BaseException:
        if upload is not None and upload.created:
            await discard_if_unused(ctx, upload.info.key)
        raise
    ctx.fresh_loaders()
    return pin


async def discard_if_unused(ctx: Context, image_key: str) -> None:
    if not await ctx.repos.pins.image_keys_in_use([image_key]):
        await ctx.images.remove(image_key)


async def delete_pin(ctx: Context, pin_id: str) -> bool:
    await ctx.repos.pins.delete(ctx.require_user(), pin_id)
    ctx.fresh_loaders()
    return True


async def save_pin(ctx: Context, pin_id: str, board_id: str, section_id: str | None = None) -> Pin:
    pin = await ctx.repos.pins.save(ctx.require_user(), pin_id, board_id, section_id)
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
    ctx.fresh_loaders()
    return True


async def add_comment(ctx: Context, pin_id: str, text: str) -> Comment:
    """Comment on a pin the viewer can see: the text is checked first, then the viewer's
    comment limits, then the pin (in the write itself)."""
    viewer = ctx.require_user()
    checked = comment_text(text)
    if ctx.comment_limits is not None:
        await ctx.comment_limits.check(viewer)
    comment = await ctx.repos.comments.add(viewer, pin_id, checked)
    ctx.fresh_loaders()
    return comment


async def delete_comment(ctx: Context, comment_id: str) -> bool:
    await ctx.repos.comments.delete(ctx.require_user(), comment_id)
    ctx.fresh_loaders()
    return True


async def react_to_pin(ctx: Context, pin_id: str, kind: ReactionKind | None) -> Pin:
    pin = await ctx.repos.comments.react(ctx.require_user(), pin_id, kind)
    ctx.fresh_loaders()
    return pin
