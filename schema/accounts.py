"""What signing up or in answers: a session."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from accounts.sessions import Session
from schema.types import User


@strawberry.type(
    description="A session: an access token for `Authorization: Bearer`, and a refresh token "
    "for the next session."
)
class AuthPayload:
    token: str = strawberry.field(
        description="The access token: send it as `Authorization: Bearer <token>` until "
        "`expiresAt` (an hour after it was issued, by default)."
    )
    expires_at: datetime = strawberry.field(
        description="When `token` expires: call `refreshSession` before then."
    )
    refresh_token: str = strawberry.field(
        description="Gets the next session from `refreshSession`, once. It lasts 30 days by "
        "default, and ends when the password changes. Keep it secret."
    )
    user: User = strawberry.field(description="The signed-in user.")

    @classmethod
    def of(cls, session: Session) -> AuthPayload:
        return cls(
            token=session.token,
            expires_at=datetime.fromtimestamp(session.expires_at, tz=UTC),
            refresh_token=session.refresh_token,
            user=User.of(session.user),
        )
