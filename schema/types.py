"""The graph's node types as GraphQL objects. Each wraps a graph/ record; fields resolve
through this request's DataLoaders, so a page of 50 pins costs a fixed number of queries."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated

import strawberry

from domain.errors import BadInput
from graph import model as domain
from graph.repos import collaborators as collaborators_model
from graph.repos import comments as discussion
from graph.repos import sections as sections_model
from graph.repos.notifications import MAX_ACTORS
from notifications import model as notify
from resolvers import collaborators as sharing
from resolvers import notifications, reads, sections, visual, walked
from resolvers.context import Info
from schema.connection import Connection, connection

First = Annotated[
    int | None,
    strawberry.argument(description="How many items to return (0-100; null means the default)."),
]
After = Annotated[
    str | None, strawberry.argument(description="An `endCursor` or edge `cursor` to resume after.")
]


def or_default(first: int | None, default: int = 25) -> int:
    return default if first is None else first


def timestamp(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def user_by_id(info: Info, user_id: str) -> User | Awaitable[User]:
    """A user this process knows already, at once; any other through the DataLoader. A
    page's owner and creators are mostly known, and an answer at once costs the executor
    no awaitable (graphql-core awaits a resolver's result only when it is one)."""
    known = info.context.repos.users.known(user_id)
    return User.of(known) if known is not None else _load_user(info, user_id)


async def _load_user(info: Info, user_id: str) -> User:
    found = await info.context.loaders.user.load(user_id)
    assert found is not None, "every pin has a creator and every board an owner"
    return User.of(found)


@strawberry.enum(description="Who can see a board.")
class BoardPrivacy(Enum):
    PUBLIC = strawberry.enum_value("PUBLIC", description="Everyone, signed in or not.")
    SECRET = strawberry.enum_value(
        "SECRET",
        description="Only its owner and collaborators; pins saved only here are hidden too.",
    )


@strawberry.enum(description="What you are to a board.")
class BoardRole(Enum):
    OWNER = strawberry.enum_value("OWNER", description="You own it and manage it.")
    COLLABORATOR = strawberry.enum_value(
        "COLLABORATOR", description="You accepted its owner's invite: you save pins into it."
    )


@strawberry.enum(description="The renditions an image is served in.")
class ImageSize(Enum):
    THUMB = strawberry.enum_value("THUMB", description="About 236 px wide.")
    SMALL = strawberry.enum_value("SMALL", description="About 474 px wide.")
    MEDIUM = strawberry.enum_value("MEDIUM", description="About 736 px wide.")
    ORIGINAL = strawberry.enum_value("ORIGINAL", description="As uploaded (metadata removed).")


@strawberry.enum(description="What a user did with a pin; feeds personalisation.")
class EngagementKind(Enum):
    CLICK = strawberry.enum_value("CLICK", description="Followed the pin's link.")
    CLOSEUP = strawberry.enum_value("CLOSEUP", description="Opened the pin's close-up view.")
    HIDE = strawberry.enum_value("HIDE", description="Asked not to see the pin in feeds.")


@strawberry.enum(description="How a user reacted to a pin; one reaction per user and pin.")
class ReactionKind(Enum):
    LOVE = strawberry.enum_value("LOVE", description="Love it.")
    GOOD_IDEA = strawberry.enum_value("GOOD_IDEA", description="A good idea.")
    THANKS = strawberry.enum_value("THANKS", description="Thanks for sharing.")
    HAHA = strawberry.enum_value("HAHA", description="Funny.")
    WOW = strawberry.enum_value("WOW", description="Amazing.")

    def model(self) -> discussion.ReactionKind:
        return discussion.ReactionKind[self.name]


@strawberry.type(description="A person who owns boards, creates and saves pins, and follows.")
class User:
    model: strawberry.Private[domain.User]
    id: strawberry.ID = strawberry.field(description="Opaque, time-sortable id.")
    handle: str = strawberry.field(
        description="Unique lower-case handle, 3-30 letters, digits or _."
    )
    display_name: str = strawberry.field(description="The name shown to others.")
    created_at: datetime = strawberry.field(description="When the user signed up.")

    @classmethod
    def of(cls, user: domain.User) -> User:
        return cls(
            model=user,
            id=strawberry.ID(user.id),
            handle=user.handle,
            display_name=user.display_name,
            created_at=timestamp(user.created_at),
        )

    @strawberry.field(description="Boards this user owns that you can see, newest first.")
    async def boards(self, info: Info, first: First = 25, after: After = None) -> Connection[Board]:
        listing = await reads.user_boards(info.context, self.model.id, or_default(first), after)
        return connection(listing, Board.of)

    @strawberry.field(description="Pins this user created that you can see, newest first.")
    async def pins(self, info: Info, first: First = 25, after: After = None) -> Connection[Pin]:
        listing = await reads.user_pins(info.context, self.model.id, or_default(first), after)
        return connection(listing, Pin.of)

    @strawberry.field(description="Users who follow this user, most recent first.")
    async def followers(
        self, info: Info, first: First = 25, after: After = None
    ) -> Connection[User]:
        listing = await reads.followers(info.context, self.model.id, or_default(first), after)
        return connection(listing, User.of)

    @strawberry.field(description="Users this user follows, most recent first.")
    async def following(
        self, info: Info, first: First = 25, after: After = None
    ) -> Connection[User]:
        listing = await reads.following(info.context, self.model.id, or_default(first), after)
        return connection(listing, User.of)

    @strawberry.field(description="Topics this user follows, most recent first.")
    async def followed_topics(
        self, info: Info, first: First = 25, after: After = None
    ) -> Connection[Topic]:
        listing = await reads.followed_topics(info.context, self.model.id, or_default(first), after)
        return connection(listing, Topic.of)

    @strawberry.field(description="How many users follow this user.")
    async def follower_count(self, info: Info) -> int:
        return await info.context.loaders.user_follower_count.load(self.model.id)

    @strawberry.field(description="How many users this user follows.")
    async def following_count(self, info: Info) -> int:
        return await info.context.loaders.user_following_count.load(self.model.id)

    @strawberry.field(description="Whether you follow this user (false when signed out).")
    async def viewer_is_following(self, info: Info) -> bool:
        return await info.context.loaders.follows_user.load(self.model.id)

    @strawberry.field(
        description="Your notifications, newest first (your own user only). Pins, boards and "
        "actors you may no longer see are left out."
    )
    async def notifications(
        self,
        info: Info,
        first: First = 25,
        after: After = None,
        unread_only: Annotated[
            bool | None, strawberry.argument(description="Only those not yet marked read.")
        ] = False,
    ) -> Connection[Notification]:
        listing = await notifications.notifications(
            info.context, self.model.id, or_default(first), after, bool(unread_only)
        )
        return connection(listing, Notification.of)

    @strawberry.field(description="How many of your notifications are unread (your own only).")
    async def unread_notification_count(self, info: Info) -> int:
        return await notifications.unread_count(info.context, self.model.id)

    @strawberry.field(
        description="Boards you collaborate on, and may save to, newest membership first "
        "(your own user only; empty for anyone else). Your own boards are in `boards`."
    )
    async def shared_boards(
        self, info: Info, first: First = 25, after: After = None
    ) -> Connection[Board]:
        listing = await sharing.shared_boards(info.context, self.model.id, or_default(first), after)
        return connection(listing, Board.of)

    @strawberry.field(
        description="Your pending invites to collaborate on boards, newest first (your own "
        "user only; empty for anyone else)."
    )
    async def board_invites(self, info: Info) -> list[BoardInvite]:
        found = await sharing.invites(info.context, self.model.id)
        return [BoardInvite.of(invite) for invite in found]


@strawberry.type(
    description="An invitation to collaborate on a board, seen by its invitee and the "
    "board's owner alone. Accept or decline it by its id."
)
class BoardInvite:
    model: strawberry.Private[collaborators_model.Invite]
    id: strawberry.ID = strawberry.field(description="Opaque id; names nothing else.")
    created_at: datetime = strawberry.field(description="When the owner invited you.")

    @classmethod
    def of(cls, invite: collaborators_model.Invite) -> BoardInvite:
        return cls(
            model=invite, id=strawberry.ID(invite.id), created_at=timestamp(invite.created_at)
        )

    @strawberry.field(
        description="The board. Until you accept, a board you cannot otherwise see (a secret "
        "one) is a preview: its id, name, description, privacy, creation time and owner; "
        "everything else is empty (no pins, sections, topics or collaborators, counts 0, "
        "viewerRole null, viewerIsFollowing false)."
    )
    async def board(self, info: Info) -> Board:
        visible = await info.context.loaders.board.load(self.model.board.id)
        if visible is not None:
            return Board.of(visible)
        return Board.of(self.model.board, preview=True)

    @strawberry.field(description="The board's owner, who sent the invite.")
    def invited_by(self, info: Info) -> User:
        return user_by_id(info, self.model.invited_by)  # type: ignore[return-value]


@strawberry.type(description="A named collection of pins, owned by one user.")
class Board:
    model: strawberry.Private[domain.Board]
    id: strawberry.ID = strawberry.field(description="Opaque, time-sortable id.")
    name: str = strawberry.field(description="The board's name.")
    description: str | None = strawberry.field(
        description="What the board is about, if its owner said."
    )
    privacy: BoardPrivacy = strawberry.field(
        description="PUBLIC, or SECRET (seen by its owner and collaborators alone)."
    )
    created_at: datetime = strawberry.field(description="When the board was created.")
    # Shown through an invite to someone who cannot see the board yet: only id, name,
    # description, privacy, createdAt and owner are real; every field that reads the store
    # about the board (pins, counts, sections, topics, collaborators, follows, role) answers
    # empty until they accept.
    preview: strawberry.Private[bool] = False

    @classmethod
    def of(cls, board: domain.Board, *, preview: bool = False) -> Board:
        return cls(
            model=board,
            id=strawberry.ID(board.id),
            name=board.name,
            description=board.description,
            privacy=BoardPrivacy[board.privacy.name],
            created_at=timestamp(board.created_at),
            preview=preview,
        )

    @strawberry.field(description="The user who owns the board.")
    def owner(self, info: Info) -> User:
        return user_by_id(info, self.model.owner_id)  # type: ignore[return-value]

    @strawberry.field(description="Topics the board is about, by name.")
    async def topics(self, info: Info) -> list[Topic]:
        if self.preview:
            return []
        found = await info.context.loaders.board_topics.load(self.model.id)
        return [Topic.of(topic) for topic in found]

    @strawberry.field(description="Pins saved to the board, newest save first.")
    async def pins(self, info: Info, first: First = 25, after: After = None) -> Connection[Pin]:
        if self.preview:
            return connection(sharing.nothing(), Pin.of)
        listing = await reads.board_pins(info.context, self.model, or_default(first), after)
        return connection(listing, Pin.of)

    @strawberry.field(description="How many pins are saved to the board.")
    async def pin_count(self, info: Info) -> int:
        if self.preview:
            return 0
        return await reads.board_pin_count(info.context, self.model.id)

    @strawberry.field(description="The board's sections, oldest first. Seen wherever the board is.")
    async def sections(self, info: Info) -> list[BoardSection]:
        if self.preview:
            return []
        found = await sections.of_board(info.context, self.model)
        return [BoardSection.of(section) for section in found]

    @strawberry.field(
        description="What you are to the board: OWNER, COLLABORATOR, or null (not a member, "
        "or signed out)."
    )
    async def viewer_role(self, info: Info) -> BoardRole | None:
        viewer = info.context.viewer_id
        if viewer is not None and viewer == self.model.owner_id:
            return BoardRole.OWNER
        if not self.preview and await sharing.is_member(info.context, self.model):
            return BoardRole.COLLABORATOR
        return None

    @strawberry.field(
        description="The users who accepted an invite to the board (its owner is `owner`), "
        "newest first."
    )
    async def collaborators(
        self, info: Info, first: First = 25, after: After = None
    ) -> Connection[User]:
        if self.preview:
            return connection(sharing.nothing(), User.of)
        listing = await sharing.collaborators(info.context, self.model, or_default(first), after)
        return connection(listing, User.of)

    @strawberry.field(description="How many users follow the board.")
    async def follower_count(self, info: Info) -> int:
        if self.preview:
            return 0
        return await info.context.loaders.board_follower_count.load(self.model.id)

    @strawberry.field(description="Whether you follow the board (false when signed out).")
    async def viewer_is_following(self, info: Info) -> bool:
        if self.preview:
            return False
        return await info.context.loaders.follows_board.load(self.model.id)


@strawberry.type(
    description="A named part of a board that its members save pins into; seen wherever its "
    "board is. A pin is in at most one section of a board."
)
class BoardSection:
    model: strawberry.Private[sections_model.Section]
    id: strawberry.ID = strawberry.field(description="Opaque, time-sortable id.")
    name: str = strawberry.field(description="1-50 characters, unique on its board ignoring case.")
    created_at: datetime = strawberry.field(description="When the section was added.")

    @classmethod
    def of(cls, section: sections_model.Section) -> BoardSection:
        return cls(
            model=section,
            id=strawberry.ID(section.id),
            name=section.name,
            created_at=timestamp(section.created_at),
        )

    @strawberry.field(
        description="Who added the section: the board's owner or one of its collaborators."
    )
    def created_by(self, info: Info) -> User:
        return user_by_id(info, self.model.created_by)  # type: ignore[return-value]

    @strawberry.field(description="Pins saved into the section, newest save first.")
    async def pins(self, info: Info, first: First = 25, after: After = None) -> Connection[Pin]:
        listing = await sections.pins(info.context, self.model, or_default(first), after)
        return connection(listing, Pin.of)

    @strawberry.field(description="How many pins are in the section.")
    def pin_count(self) -> int:
        return self.model.pin_count


@strawberry.type(description="A stored picture in several renditions.")
class Image:
    key: strawberry.ID = strawberry.field(
        description="The image's key: pass it to `searchByImage` (with `crop`) to search by a "
        "region of this image."
    )

    @strawberry.field(description="Where to fetch the image in the given size (cacheable).")
    def url(
        self,
        info: Info,
        size: Annotated[
            ImageSize | None, strawberry.argument(description="Which rendition; MEDIUM by default.")
        ] = ImageSize.MEDIUM,
    ) -> str:
        return info.context.images.url(self.key, (size or ImageSize.MEDIUM).name)

    width: int = strawberry.field(description="Width of the original, in pixels.")
    height: int = strawberry.field(description="Height of the original, in pixels.")
    dominant_color: str | None = strawberry.field(
        description="The most common colour as #rrggbb: a placeholder while loading."
    )


@strawberry.type(description="An idea: a title, maybe an image and a link, saved to boards.")
class Pin:
    model: strawberry.Private[domain.Pin]
    id: strawberry.ID = strawberry.field(description="Opaque, time-sortable id.")
    title: str = strawberry.field(description="The pin's title.")
    description: str | None = strawberry.field(description="Longer text, if any.")
    link: str | None = strawberry.field(description="The web page the pin points to, if any.")
    created_at: datetime = strawberry.field(description="When the pin was created.")
    image: Image | None = strawberry.field(
        description="The pin's image; null for pins without one."
    )

    @classmethod
    def of(cls, pin: domain.Pin) -> Pin:
        image = None
        if pin.image_key is not None and pin.width is not None and pin.height is not None:
            image = Image(key=strawberry.ID(pin.image_key), width=pin.width, height=pin.height,
                          dominant_color=pin.dominant_color)  # fmt: skip
        return cls(
            model=pin,
            id=strawberry.ID(pin.id),
            title=pin.title,
            description=pin.description,
            link=pin.link,
            created_at=timestamp(pin.created_at),
            image=image,
        )

    @strawberry.field(description="The user who created the pin.")
    def creator(self, info: Info) -> User:
        assert self.model.creator_id, "every pin has a creator"
        return user_by_id(info, self.model.creator_id)  # type: ignore[return-value]

    @strawberry.field(description="Topics the pin is tagged with, by name.")
    async def topics(self, info: Info) -> list[Topic]:
        found = await info.context.loaders.pin_topics.load(self.model.id)
        return [Topic.of(topic) for topic in found]

    @strawberry.field(description="Boards you can see that the pin is saved to, newest first.")
    async def boards(self, info: Info, first: First = 25, after: After = None) -> Connection[Board]:
        listing = await reads.pin_boards(info.context, self.model.id, or_default(first), after)
        return connection(listing, Board.of)

    @strawberry.field(description="How many boards you can see that the pin is saved to.")
    async def save_count(self, info: Info) -> int:
        return await info.context.loaders.pin_save_count.load(self.model.id)

    @strawberry.field(description="Pins like this one, best first (0-100).")
    async def related(self, info: Info, first: First = 20) -> list[Pin]:
        return [
            Pin.of(pin)
            for pin in await walked.related(info.context, self.model.id, or_default(first, 20))
        ]

    @strawberry.field(
        description="Public pins whose images look like this one's, closest first (0-100); "
        "empty while the image is being indexed (a few seconds after the pin is created)."
    )
    async def visually_similar(self, info: Info, first: First = 12) -> list[Pin]:
        found = await visual.visually_similar(info.context, self.model, or_default(first, 12))
        return [Pin.of(pin) for pin in found]

    @strawberry.field(
        description="Comments on the pin, newest first. Seen by whoever can see the pin."
    )
    async def comments(
        self, info: Info, first: First = 25, after: After = None
    ) -> Connection[Comment]:
        listing = await reads.pin_comments(info.context, self.model.id, or_default(first), after)
        return connection(listing, Comment.of)

    @strawberry.field(
        description="How many users reacted, per kind, most first; kinds nobody chose are left out."
    )
    async def reaction_counts(self, info: Info) -> list[ReactionCount]:
        found = await info.context.loaders.pin_reaction_counts.load(self.model.id)
        order = list(discussion.ReactionKind)
        ranked = sorted(found.items(), key=lambda item: (-item[1], order.index(item[0])))
        return [ReactionCount(kind=ReactionKind[kind.name], count=n) for kind, n in ranked]

    @strawberry.field(description="Your reaction to the pin; null when none or signed out.")
    async def viewer_reaction(self, info: Info) -> ReactionKind | None:
        found = await info.context.loaders.viewer_reaction.load(self.model.id)
        return ReactionKind[found.name] if found is not None else None


@strawberry.type(description="A comment on a pin: plain text, seen wherever its pin is.")
class Comment:
    model: strawberry.Private[discussion.Comment]
    id: strawberry.ID = strawberry.field(description="Opaque, time-sortable id.")
    text: str = strawberry.field(
        description="Plain text as written (trimmed; line breaks kept): never HTML, so "
        "escape it when showing it in a page."
    )
    created_at: datetime = strawberry.field(description="When the comment was written.")

    @classmethod
    def of(cls, comment: discussion.Comment) -> Comment:
        return cls(
            model=comment,
            id=strawberry.ID(comment.id),
            text=comment.text,
            created_at=timestamp(comment.created_at),
        )

    @strawberry.field(description="The user who wrote the comment.")
    def author(self, info: Info) -> User:
        return user_by_id(info, self.model.author_id)  # type: ignore[return-value]

    @strawberry.field(
        description="Whether you may delete the comment: you wrote it or created its pin."
    )
    def viewer_can_delete(self, info: Info) -> bool:
        return self.model.deletable_by(info.context.viewer_id)


@strawberry.type(description="How many users reacted to a pin with one kind of reaction.")
class ReactionCount:
    kind: ReactionKind = strawberry.field(description="The reaction.")
    count: int = strawberry.field(description="How many users chose it (at least 1).")


@strawberry.type(description="A pin found by image, and how far its image is from the query.")
class VisualMatch:
    pin: Pin = strawberry.field(description="A public pin.")
    distance: float = strawberry.field(
        description="Cosine distance between the two images' embeddings: 0 for the same "
        "picture, below about 0.15 for near copies, 0.7-0.9 for unrelated photos."
    )


@strawberry.input(description="A region of an image, in pixels of the image as stored.")
class CropInput:
    x: int = strawberry.field(description="Left edge (0 is the image's left).")
    y: int = strawberry.field(description="Top edge (0 is the image's top).")
    width: int = strawberry.field(description="Width, at least 1.")
    height: int = strawberry.field(description="Height, at least 1.")


@strawberry.type(description="A subject pins and boards are tagged with; names are lower-case.")
class Topic:
    model: strawberry.Private[domain.Topic]
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    name: str = strawberry.field(description="Normalised name: lower-case, single spaces.")

    @classmethod
    def of(cls, topic: domain.Topic) -> Topic:
        return cls(model=topic, id=strawberry.ID(topic.id), name=topic.name)

    @strawberry.field(description="Pins tagged with the topic that you can see, newest first.")
    async def pins(self, info: Info, first: First = 25, after: After = None) -> Connection[Pin]:
        listing = await reads.topic_pins(info.context, self.model, or_default(first), after)
        return connection(listing, Pin.of)

    @strawberry.field(description="How many users follow the topic.")
    async def follower_count(self, info: Info) -> int:
        return await info.context.loaders.topic_follower_count.load(self.model.id)

    @strawberry.field(description="Whether you follow the topic (false when signed out).")
    async def viewer_is_following(self, info: Info) -> bool:
        return await info.context.loaders.follows_topic.load(self.model.id)


@strawberry.enum(description="What a notification is about.")
class NotificationKind(Enum):
    PIN_SAVED = strawberry.enum_value("PIN_SAVED", description="Someone saved a pin you made.")
    USER_FOLLOWED = strawberry.enum_value("USER_FOLLOWED", description="Someone followed you.")
    BOARD_FOLLOWED = strawberry.enum_value(
        "BOARD_FOLLOWED", description="Someone followed a board of yours."
    )
    NEW_PIN_IN_TOPIC = strawberry.enum_value(
        "NEW_PIN_IN_TOPIC", description="A new public pin in a topic you follow."
    )
    BOARD_INVITE = strawberry.enum_value(
        "BOARD_INVITE",
        description="A board's owner invited you to collaborate (see `me.boardInvites`).",
    )
    PIN_COMMENTED = strawberry.enum_value(
        "PIN_COMMENTED", description="Someone commented on a pin you made."
    )
    PIN_REACTED = strawberry.enum_value(
        "PIN_REACTED", description="Someone reacted to a pin you made."
    )

    def model(self) -> notify.NotificationKind:
        return notify.NotificationKind[self.name]


@strawberry.type(
    description="Something that happened to you or your interests. Bursts aggregate: one "
    "notification per kind and subject within a window, naming the latest actors."
)
class Notification:
    model: strawberry.Private[notify.Notification]
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    kind: NotificationKind = strawberry.field(description="What happened.")
    created_at: datetime = strawberry.field(description="When its latest actor acted.")
    read: bool = strawberry.field(description="Whether you marked it read.")
    actor_count: int = strawberry.field(
        description='How many people acted: "ana and 4 others saved your pin" has 5.'
    )

    @classmethod
    def of(cls, found: notify.Notification) -> Notification:
        return cls(
            model=found,
            id=strawberry.ID(found.id),
            kind=NotificationKind[found.kind.value],
            created_at=timestamp(found.at),
            read=found.read,
            actor_count=found.actor_count,
        )

    @strawberry.field(description="The latest people who acted, newest first (1-20).")
    async def actors(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description=f"How many (1-{MAX_ACTORS}).")
        ] = 3,
    ) -> list[User]:
        first = 3 if first is None else first
        if not 1 <= first <= MAX_ACTORS:
            raise BadInput(f"first must be between 1 and {MAX_ACTORS}")
        users = await info.context.loaders.user.load_many(list(self.model.actor_ids[:first]))
        return [User.of(user) for user in users if user is not None]

    @strawberry.field(
        description="The pin it is about (saves, comments, reactions, new pins in a topic)."
    )
    async def pin(self, info: Info) -> Pin | None:
        found = await info.context.loaders.pin.load(self.model.pin) if self.model.pin else None
        return Pin.of(found) if found else None

    @strawberry.field(description="The board it is about (board follows, the board saved to).")
    async def board(self, info: Info) -> Board | None:
        board_id = self.model.board
        found = await info.context.loaders.board.load(board_id) if board_id else None
        return Board.of(found) if found else None

    @strawberry.field(description="The topic a new pin is in (NEW_PIN_IN_TOPIC).")
    async def topic(self, info: Info) -> Topic | None:
        found = await reads.topic(info.context, self.model.topic) if self.model.topic else None
        return Topic.of(found) if found else None


@strawberry.type(description="What you want to be told about.")
class NotificationSettings:
    muted: list[NotificationKind] = strawberry.field(description="Kinds never notified.")
    topic_digest: bool = strawberry.field(
        description="New pins in followed topics as one notification a day per topic."
    )

    @classmethod
    def of(cls, settings: notify.NotificationSettings) -> NotificationSettings:
        muted = [NotificationKind(kind.value) for kind in sorted(settings.muted)]
        return cls(muted=muted, topic_digest=settings.topic_digest)
