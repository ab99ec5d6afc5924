"""Live updates, over WebSocket at /graphql (graphql-transport-ws; the token goes in
`connection_init`'s payload as {"Authorization": "Bearer <token>"})."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers import notifications
from resolvers.context import Info
from schema.types import Notification


@strawberry.type(description="Live updates for the signed-in user of the connection.")
class Subscription:
    @strawberry.subscription(
        description="Your notifications as they arrive (a new one, or a new actor on one). "
        "Missed ones, while disconnected, are in `me { notifications }`."
    )
    async def notification_added(self, info: Info) -> AsyncGenerator[Notification]:
        async for found in notifications.added(info.context):
            yield Notification.of(found)
