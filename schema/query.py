"""Entry points for reading."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import notifications, reads, trending, visual, walked
from resolvers.context import Info
from schema.connection import Connection, connection
from schema.types import (
    After,
    Board,
    CropInput,
    First,
    NotificationSettings,
    Pin,
    Topic,
    User,
    VisualMatch,
    or_default,
)
from visual.preprocess import Crop

TrendingFirst = Annotated[
    int | None,
    strawberry.argument(description="How many items to return (1-100; null means the default)."),
]


@strawberry.type(description="Reads. Anonymous callers see public data only.")
class Query:
    @strawberry.field(
        description="The signed-in user; null when signed out (FORBIDDEN for a token without "
        "the user role)."
    )
    async def me(self, info: Info) -> User | None:
        found = await reads.me(info.context)
        return User.of(found) if found else None

    @strawberry.field(description="A user by id or by handle (give exactly one).")
    async def user(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The user's id.")
        ] = None,
        handle: Annotated[str | None, strawberry.argument(description="The user's handle.")] = None,
    ) -> User | None:
        found = await reads.user(info.context, id, handle)
        return User.of(found) if found else None

    @strawberry.field(description="A pin you can see; null when missing or hidden from you.")
    async def pin(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The pin's id.")],
    ) -> Pin | None:
        found = await info.context.loaders.pin.load(id)
        return Pin.of(found) if found else None

    @strawberry.field(description="A board you can see; null when missing or secret.")
    async def board(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The board's id.")],
    ) -> Board | None:
        found = await reads.board(info.context, id)
        return Board.of(found) if found else None

    @strawberry.field(description="A topic by name (case and spacing do not matter).")
    async def topic(
        self, info: Info, name: Annotated[str, strawberry.argument(description="The topic's name.")]
    ) -> Topic | None:
        found = await reads.topic(info.context, name)
        return Topic.of(found) if found else None

    @strawberry.field(
        description="Newest pins from the users, boards and topics you follow, leaving out "
        "pins you saved or hid. Needs a signed-in user."
    )
    async def home_feed(
        self, info: Info, first: First = 25, after: After = None
    ) -> Connection[Pin]:
        return connection(await walked.home_feed(info.context, or_default(first), after), Pin.of)

    @strawberry.field(
        description="Public pins saved most lately: the public saves of the last week of "
        "activity, each weighing half as much for every day of its age (by default); of one "
        "topic when `topic` is given. Best first; recomputed every few minutes, and seconds "
        "after a save, unsave or board change."
    )
    async def trending_pins(
        self,
        info: Info,
        topic: Annotated[
            str | None,
            strawberry.argument(
                description="A topic's name (case and spacing do not matter); a name no topic "
                "has gives an empty list."
            ),
        ] = None,
        first: TrendingFirst = 25,
    ) -> list[Pin]:
        found = await trending.trending_pins(info.context, topic, or_default(first))
        return [Pin.of(pin) for pin in found]

    @strawberry.field(
        description="Public boards saved into most lately, saves weighed as for "
        "`trendingPins`. Best first."
    )
    async def trending_boards(self, info: Info, first: TrendingFirst = 25) -> list[Board]:
        found = await trending.trending_boards(info.context, or_default(first))
        return [Board.of(board) for board in found]

    @strawberry.field(
        description="Full-text search over public pins' titles and descriptions; every word "
        "must match, the last one as a prefix. Best match first."
    )
    async def search_pins(
        self,
        info: Info,
        query: Annotated[str, strawberry.argument(description="Words to look for (≤ 200 chars).")],
        first: First = 25,
        after: After = None,
    ) -> Connection[Pin]:
        return connection(
            await reads.search_pins(info.context, query, or_default(first), after), Pin.of
        )

    @strawberry.field(
        description="Public pins whose images look like an uploaded image, or like a region of "
        "it, closest first (0-100). Upload the image with POST /media first. Needs a signed-in "
        "user."
    )
    async def search_by_image(
        self,
        info: Info,
        image_key: Annotated[
            strawberry.ID, strawberry.argument(description="The key POST /media answered.")
        ],
        crop: Annotated[
            CropInput | None,
            strawberry.argument(description="Search this region only; the whole image if null."),
        ] = None,
        first: First = 25,
    ) -> list[VisualMatch]:
        region = Crop(crop.x, crop.y, crop.width, crop.height) if crop else None
        hits = await visual.search_by_image(info.context, image_key, region, or_default(first))
        return [VisualMatch(pin=Pin.of(hit.pin), distance=hit.distance) for hit in hits]

    @strawberry.field(description="What you are notified of. Needs a signed-in user.")
    async def notification_settings(self, info: Info) -> NotificationSettings:
        return NotificationSettings.of(await notifications.settings(info.context))

    @strawberry.field(
        description="The server's VAPID public key (base64url): the `applicationServerKey` "
        "to subscribe a browser to Web Push with."
    )
    def push_public_key(self, info: Info) -> str:
        return info.context.notifications.push_key
