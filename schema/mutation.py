"""Writes. Every mutation needs a signed-in user and is one transaction in the graph."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from domain.errors import BadInput
from graph.model import Privacy
from graph.repos.pins import NewPin
from resolvers import accounts, notifications, sections, writes
from resolvers import collaborators as sharing
from resolvers.context import Info
from schema.accounts import AuthPayload
from schema.types import (
    Board,
    BoardInvite,
    BoardPrivacy,
    BoardSection,
    Comment,
    EngagementKind,
    NotificationKind,
    NotificationSettings,
    Pin,
    ReactionKind,
    Topic,
    User,
)

PinId = Annotated[strawberry.ID, strawberry.argument(description="The pin's id.")]
BoardId = Annotated[strawberry.ID, strawberry.argument(description="The board's id.")]
UserId = Annotated[strawberry.ID, strawberry.argument(description="The user's id.")]
InviteId = Annotated[strawberry.ID, strawberry.argument(description="The invite's id.")]
TopicName = Annotated[str, strawberry.argument(description="The topic's name.")]
Handle = Annotated[str, strawberry.argument(description="The account's handle.")]
Password = Annotated[str, strawberry.argument(description="The account's password.")]
NewPassword = Annotated[
    str, strawberry.argument(description="8-128 characters, not only whitespace.")
]


@strawberry.input(description="A new board.")
class CreateBoardInput:
    name: str = strawberry.field(description="1-100 characters.")
    description: str | None = strawberry.field(default=None, description="Up to 2000 characters.")
    privacy: BoardPrivacy | None = strawberry.field(
        default=BoardPrivacy.PUBLIC,
        description="SECRET boards are seen by you and your collaborators alone.",
    )
    topics: list[str] | None = strawberry.field(default=None, description="Up to 10 topics.")


@strawberry.input(description="Changes to a board; fields left out stay as they are.")
class UpdateBoardInput:
    name: str | None = strawberry.field(default=None, description="A new name.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new description; null clears it."
    )
    privacy: BoardPrivacy | None = strawberry.field(default=None, description="A new privacy.")
    topics: list[str] | None = strawberry.field(
        default=None, description="Replaces the board's topics ([] removes them all)."
    )


@strawberry.input(description="A new pin, saved at once to one of your boards.")
class CreatePinInput:
    title: str = strawberry.field(description="1-200 characters.")
    description: str | None = strawberry.field(default=None, description="Up to 2000 characters.")
    link: str | None = strawberry.field(default=None, description="An http(s) URL.")
    board_id: strawberry.ID = strawberry.field(description="A board you own or collaborate on.")
    topics: list[str] | None = strawberry.field(default=None, description="Up to 10 topics.")
    image: Upload | None = strawberry.field(
        default=None, description="An image file (GraphQL multipart request)."
    )
    image_key: str | None = strawberry.field(
        default=None, description="The `imageKey` of an image uploaded with POST /media."
    )


async def read_upload(upload: object) -> bytes:
    """The bytes of a multipart file (a Starlette UploadFile), or of a plain value."""
    read = getattr(upload, "read", None)
    if read is None:
        raise BadInput("image must be a file sent as a GraphQL multipart request")
    data = await read()
    if not isinstance(data, bytes):
        raise BadInput("image must be a file")
    return data


@strawberry.type(
    description="Writes; each needs a signed-in user, except those that sign up or in."
)
class Mutation:
    @strawberry.mutation(
        description="Create an account with a password and sign in to it. CONFLICT when the "
        "handle is taken."
    )
    async def sign_up(
        self,
        info: Info,
        handle: Annotated[
            str,
            strawberry.argument(description="Unique handle: 3-30 of a-z, 0-9, _ (lower-cased)."),
        ],
        password: NewPassword,
        display_name: Annotated[
            str | None,
            strawberry.argument(description="The name shown to others (default: the handle)."),
        ] = None,
        lang: Annotated[
            str | None,
            strawberry.argument(description="Two-letter language code (default: en)."),
        ] = None,
    ) -> AuthPayload:
        session = await accounts.sign_up(info.context, handle, password, display_name, lang)
        return AuthPayload.of(session)

    @strawberry.mutation(
        description="Sign in with a handle and password. A wrong handle or password is "
        "UNAUTHENTICATED; too many failures are RATE_LIMITED for a while."
    )
    async def sign_in(self, info: Info, handle: Handle, password: Password) -> AuthPayload:
        return AuthPayload.of(await accounts.sign_in(info.context, handle, password))

    @strawberry.mutation(
        description="The next session, for a refresh token; that refresh token is then spent."
    )
    async def refresh_session(
        self,
        info: Info,
        refresh_token: Annotated[
            str, strawberry.argument(description="The `refreshToken` of the current session.")
        ],
    ) -> AuthPayload:
        return AuthPayload.of(await accounts.refresh_session(info.context, refresh_token))

    @strawberry.mutation(
        description="Change your password (signed in). Every earlier session's refresh token "
        "stops working; the answer is a new session."
    )
    async def change_password(
        self,
        info: Info,
        current_password: Annotated[
            str, strawberry.argument(description="The password you have now.")
        ],
        new_password: NewPassword,
    ) -> AuthPayload:
        session = await accounts.change_password(info.context, current_password, new_password)
        return AuthPayload.of(session)

    @strawberry.mutation(
        description="Development only: sign in as the demo data's user `demo`, no password. "
        "FORBIDDEN in production."
    )
    async def sign_in_as_demo(self, info: Info) -> AuthPayload:
        return AuthPayload.of(await accounts.sign_in_as_demo(info.context))

    @strawberry.mutation(description="Create a board you own.")
    async def create_board(
        self,
        info: Info,
        input: Annotated[CreateBoardInput, strawberry.argument(description="The new board.")],
    ) -> Board:
        board = await writes.create_board(
            info.context,
            input.name,
            input.description,
            Privacy((input.privacy or BoardPrivacy.PUBLIC).name),
            input.topics,
        )
        return Board.of(board)

    @strawberry.mutation(description="Edit a board you own.")
    async def update_board(
        self,
        info: Info,
        id: BoardId,
        input: Annotated[UpdateBoardInput, strawberry.argument(description="What to change.")],
    ) -> Board:
        set_description = input.description is not strawberry.UNSET
        board = await writes.update_board(
            info.context,
            id,
            name=input.name,
            description=input.description if set_description else None,
            set_description=set_description,
            privacy=Privacy(input.privacy.name) if input.privacy else None,
            topics=input.topics,
        )
        return Board.of(board)

    @strawberry.mutation(
        description="Delete a board you own. Pins you created that are saved nowhere else go "
        "with it; others' pins stay."
    )
    async def delete_board(self, info: Info, id: BoardId) -> bool:
        return await writes.delete_board(info.context, id)

    @strawberry.mutation(
        description="Create a pin and save it to a board you own or collaborate on."
    )
    async def create_pin(
        self,
        info: Info,
        input: Annotated[CreatePinInput, strawberry.argument(description="The new pin.")],
    ) -> Pin:
        new = NewPin(
            title=input.title,
            board_id=input.board_id,
            description=input.description,
            link=input.link,
            topics=input.topics,
        )
        image = await read_upload(input.image) if input.image is not None else None
        pin = await writes.create_pin(info.context, new, image=image, image_key=input.image_key)
        return Pin.of(pin)

    @strawberry.mutation(description="Delete a pin you created, from every board.")
    async def delete_pin(self, info: Info, id: PinId) -> bool:
        return await writes.delete_pin(info.context, id)

    @strawberry.mutation(
        description="Save a pin you can see to a board you own or collaborate on; idempotent. "
        "With `sectionId`, into that section of the board (a pin on the board already moves "
        "there); without it, a pin already on the board keeps its section."
    )
    async def save_pin(
        self,
        info: Info,
        pin_id: PinId,
        board_id: BoardId,
        section_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="A section of that board; NOT_FOUND otherwise."),
        ] = None,
    ) -> Pin:
        section = str(section_id) if section_id is not None else None
        return Pin.of(await writes.save_pin(info.context, pin_id, board_id, section))

    @strawberry.mutation(
        description="Add a section to a board you own or collaborate on. The name is trimmed, "
        "1-50 characters; CONFLICT when the board has a section of that name (ignoring case), "
        "BAD_USER_INPUT past 50 sections."
    )
    async def create_board_section(
        self,
        info: Info,
        board_id: BoardId,
        name: Annotated[str, strawberry.argument(description="The section's name.")],
    ) -> BoardSection:
        return BoardSection.of(await sections.create(info.context, board_id, name))

    @strawberry.mutation(
        description="Delete a section: the board's owner any, a collaborator those they added. "
        "Its pins stay on the board, in no section."
    )
    async def delete_board_section(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The section's id.")],
    ) -> bool:
        return await sections.delete(info.context, id)

    @strawberry.mutation(
        description="Remove a pin from a board you own, or a save of yours from a board you "
        "collaborate on; false when it was not saved there."
    )
    async def unsave_pin(self, info: Info, pin_id: PinId, board_id: BoardId) -> bool:
        return await writes.unsave_pin(info.context, pin_id, board_id)

    @strawberry.mutation(description="Follow a user; idempotent. Returns that user.")
    async def follow_user(self, info: Info, user_id: UserId) -> User:
        return User.of(await writes.follow_user(info.context, user_id, follow=True))

    @strawberry.mutation(description="Stop following a user; idempotent. Returns that user.")
    async def unfollow_user(self, info: Info, user_id: UserId) -> User:
        return User.of(await writes.follow_user(info.context, user_id, follow=False))

    @strawberry.mutation(description="Follow a board you can see; idempotent.")
    async def follow_board(self, info: Info, board_id: BoardId) -> Board:
        return Board.of(await writes.follow_board(info.context, board_id, follow=True))

    @strawberry.mutation(description="Stop following a board; idempotent.")
    async def unfollow_board(self, info: Info, board_id: BoardId) -> Board:
        return Board.of(await writes.follow_board(info.context, board_id, follow=False))

    @strawberry.mutation(
        description="Invite a user to collaborate on a board you own; inviting again returns "
        "the same invite. CONFLICT when they are the owner or a collaborator already; "
        "BAD_USER_INPUT past 50 collaborators and pending invites; RATE_LIMITED past your "
        "invite limit (only invites created count)."
    )
    async def invite_collaborator(
        self, info: Info, board_id: BoardId, user_id: UserId
    ) -> BoardInvite:
        return BoardInvite.of(await sharing.invite(info.context, board_id, user_id))

    @strawberry.mutation(
        description="Accept an invite of yours: you become the board's collaborator. Returns "
        "the board."
    )
    async def accept_board_invite(self, info: Info, invite_id: InviteId) -> Board:
        return Board.of(await sharing.accept(info.context, invite_id))

    @strawberry.mutation(description="Decline an invite of yours; it is gone.")
    async def decline_board_invite(self, info: Info, invite_id: InviteId) -> bool:
        return await sharing.decline(info.context, invite_id)

    @strawberry.mutation(
        description="Remove a collaborator from a board you own, or withdraw their pending "
        "invite; effective from their next request. Returns the board."
    )
    async def remove_collaborator(self, info: Info, board_id: BoardId, user_id: UserId) -> Board:
        return Board.of(await sharing.remove(info.context, board_id, user_id))

    @strawberry.mutation(
        description="Stop collaborating on a board; false when you were not a collaborator."
    )
    async def leave_board(self, info: Info, board_id: BoardId) -> bool:
        return await sharing.leave(info.context, board_id)

    @strawberry.mutation(description="Follow a topic by name (created if new); idempotent.")
    async def follow_topic(self, info: Info, name: TopicName) -> Topic:
        return Topic.of(await writes.follow_topic(info.context, name, follow=True))

    @strawberry.mutation(description="Stop following a topic; idempotent.")
    async def unfollow_topic(self, info: Info, name: TopicName) -> Topic:
        return Topic.of(await writes.follow_topic(info.context, name, follow=False))

    @strawberry.mutation(
        description="Record a click, close-up or hide of a pin you can see; it shapes your feed."
    )
    async def record_engagement(
        self,
        info: Info,
        pin_id: PinId,
        kind: Annotated[EngagementKind, strawberry.argument(description="What happened.")],
    ) -> bool:
        return await writes.record_engagement(info.context, pin_id, kind.name)

    @strawberry.mutation(
        description="Comment on a pin you can see. Plain text, line breaks normalised to \\n, "
        "1-500 characters after trimming, no control characters but line breaks and tabs, no "
        "bidirectional controls or line/paragraph separators, not only zero-width characters "
        "(BAD_USER_INPUT otherwise). NOT_FOUND for a pin you cannot see; RATE_LIMITED past "
        "your comment limits."
    )
    async def add_comment(
        self,
        info: Info,
        pin_id: PinId,
        text: Annotated[str, strawberry.argument(description="The comment, as plain text.")],
    ) -> Comment:
        return Comment.of(await writes.add_comment(info.context, pin_id, text))

    @strawberry.mutation(
        description="Delete a comment you wrote (even on a pin you can no longer see), or one "
        "on a pin you created. FORBIDDEN for others' comments on others' pins; NOT_FOUND when "
        "it is gone, or it is not yours and you cannot see its pin."
    )
    async def delete_comment(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The comment's id.")],
    ) -> bool:
        return await writes.delete_comment(info.context, id)

    @strawberry.mutation(
        description="Set your one reaction to a pin you can see (another kind replaces it); "
        "null removes it. NOT_FOUND for a pin you cannot see."
    )
    async def react_to_pin(
        self,
        info: Info,
        pin_id: PinId,
        kind: Annotated[
            ReactionKind | None,
            strawberry.argument(description="The reaction; null removes yours."),
        ] = None,
    ) -> Pin:
        model = kind.model() if kind is not None else None
        return Pin.of(await writes.react_to_pin(info.context, pin_id, model))

    @strawberry.mutation(
        description="Mark your notifications read: the ones named, or all of them. Returns how "
        "many were unread."
    )
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Up to 200 ids.")
        ] = None,
        all: Annotated[
            bool | None, strawberry.argument(description="Every notification you have.")
        ] = False,
    ) -> int:
        return await notifications.mark_read(
            info.context, [str(i) for i in ids] if ids is not None else None, bool(all)
        )

    @strawberry.mutation(description="Change what you are notified of; left out stays as is.")
    async def update_notification_settings(
        self,
        info: Info,
        muted: Annotated[
            list[NotificationKind] | None,
            strawberry.argument(description="The kinds never to notify (replaces the list)."),
        ] = None,
        topic_digest: Annotated[
            bool | None,
            strawberry.argument(description="New pins in topics as a daily digest per topic."),
        ] = None,
    ) -> NotificationSettings:
        kinds = [kind.model() for kind in muted] if muted is not None else None
        found = await notifications.update_settings(info.context, kinds, topic_digest)
        return NotificationSettings.of(found)

    @strawberry.mutation(
        description="Send your notifications to this browser too, with Web Push: pass the "
        "PushSubscription's endpoint and keys (subscribe with `pushPublicKey`)."
    )
    async def register_push_subscription(
        self,
        info: Info,
        endpoint: Annotated[str, strawberry.argument(description="The push service URL.")],
        p256dh: Annotated[str, strawberry.argument(description="keys.p256dh, base64url.")],
        auth: Annotated[str, strawberry.argument(description="keys.auth, base64url.")],
    ) -> bool:
        return await notifications.register_push(info.context, endpoint, p256dh, auth)

    @strawberry.mutation(description="Stop pushing to this endpoint; false when it was unknown.")
    async def unregister_push_subscription(
        self,
        info: Info,
        endpoint: Annotated[str, strawberry.argument(description="The push service URL.")],
    ) -> bool:
        return await notifications.unregister_push(info.context, endpoint)
