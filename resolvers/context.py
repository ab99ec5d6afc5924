"""What every resolver receives: repositories, the viewer, and this request's DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

import strawberry

from graph.board_cache import BoardCache
from graph.errors import Forbidden, Unauthenticated
from graph.feed_cache import FeedCache
from graph.repos import Repositories
from media.service import ImageService
from resolvers.loaders import Loaders
from walks.deltas import DeltaLog
from walks.engine import WalkEngine


class Role(StrEnum):
    USER = "user"
    ANALYST = "analyst"
    RECOMMENDER = "recommender"


@dataclass(frozen=True)
class Viewer:
    """Who is calling, from a verified token: `user_id` is the token's `sub`."""

    user_id: str
    roles: frozenset[Role]


@dataclass
class Context:
    repos: Repositories
    viewer: Viewer | None
    images: ImageService
    walks: WalkEngine | None = None
    board_cache: BoardCache | None = None
    feed_cache: FeedCache | None = None
    public_changed: Callable[[], Awaitable[None]] | None = None  # cached anonymous answers
    walk_deltas: DeltaLog | None = None  # saves and unsaves reach the walks through it
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.fresh_loaders()

    def fresh_loaders(self) -> None:
        """Forget what this request has loaded (after a write changed it)."""
        self.loaders = Loaders(self.repos, self.viewer_id)

    @property
    def viewer_id(self) -> str | None:
        return self.viewer.user_id if self.viewer else None

    def require_user(self) -> str:
        """The signed-in user's id; anonymous or non-user callers get a clear error."""
        if self.viewer is None:
            raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
        if Role.USER not in self.viewer.roles:
            raise Forbidden("this needs a token with the 'user' role")
        return self.viewer.user_id


Info = strawberry.Info[Context, None]
