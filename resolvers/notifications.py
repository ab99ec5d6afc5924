"""Notification resolvers: a signed-in user's own inbox, settings and push subscriptions."""

from __future__ import annotations

from collections.abc import AsyncIterator

from domain.errors import BadInput, Conflict, Forbidden
from graph.model import now_ms, page_size
from notifications.model import Notification, NotificationKind, NotificationSettings, PushTarget
from notifications.push import check_subscription
from resolvers.context import Context
from resolvers.reads import Listing

MAX_IDS = 200
MAX_PUSH_SUBSCRIPTIONS = 10  # browsers and devices of one user


def own(ctx: Context, user_id: str) -> str:
    """The viewer's id, when `user_id` is the viewer: an inbox is nobody else's business."""
    viewer = ctx.require_user()
    if viewer != user_id:
        raise Forbidden("only your own notifications can be read")
    return viewer


async def notifications(
    ctx: Context, user_id: str, first: int, after: str | None, unread_only: bool
) -> Listing[Notification]:
    viewer = own(ctx, user_id)
    inbox = ctx.notifications.inbox
    page = await inbox.page(viewer, page_size(first), after, unread_only=unread_only)
    return Listing(page, lambda: inbox.count(viewer, unread_only=unread_only))


async def unread_count(ctx: Context, user_id: str) -> int:
    return await ctx.notifications.inbox.count(own(ctx, user_id), unread_only=True)


async def settings(ctx: Context) -> NotificationSettings:
    viewer = ctx.require_user()
    found = await ctx.repos.notifications.settings_of([viewer])
    return found.get(viewer, NotificationSettings())


async def update_settings(
    ctx: Context, muted: list[NotificationKind] | None, topic_digest: bool | None
) -> NotificationSettings:
    viewer = ctx.require_user()
    return await ctx.repos.notifications.update_settings(viewer, muted, topic_digest)


async def mark_read(ctx: Context, ids: list[str] | None, all_: bool) -> int:
    viewer = ctx.require_user()
    if all_ == (ids is not None):
        raise BadInput("give either `ids` or `all: true`")
    if ids is not None and len(ids) > MAX_IDS:
        raise BadInput(f"at most {MAX_IDS} ids at a time; use `all: true` for everything")
    return await ctx.notifications.inbox.mark_read(viewer, ids)


async def register_push(ctx: Context, endpoint: str, p256dh: str, auth: str) -> bool:
    viewer = ctx.require_user()
    endpoint, p256dh, auth = check_subscription(
        endpoint, p256dh, auth, list(ctx.notifications.push_hosts)
    )
    subscriptions = ctx.notifications.subscriptions
    at_most = await subscriptions.count(viewer) >= MAX_PUSH_SUBSCRIPTIONS
    if at_most and not await subscriptions.registered(viewer, endpoint):
        raise Conflict(
            f"at most {MAX_PUSH_SUBSCRIPTIONS} push subscriptions per user: unregister one first"
        )
    return await subscriptions.register(PushTarget(viewer, endpoint, p256dh, auth), now_ms())


async def unregister_push(ctx: Context, endpoint: str) -> bool:
    viewer = ctx.require_user()
    return await ctx.notifications.subscriptions.unregister_push(endpoint, viewer)


async def added(ctx: Context) -> AsyncIterator[Notification]:
    """The viewer's new notifications, as they are recorded, until the client unsubscribes."""
    viewer = ctx.require_user()
    service = ctx.notifications
    async with service.live.subscribe(viewer) as subscriber:
        while True:
            notification_id = await subscriber.next_id()
            ctx.require_user()  # the connection's token may have expired meanwhile
            ctx.fresh_loaders()  # a long-lived connection: read pins and boards as they are now
            found = await service.inbox.get(viewer, notification_id)
            if found is not None:
                yield found
