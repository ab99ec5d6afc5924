"""What every resolver receives: repositories, the viewer, the caller's address, and this
request's DataLoaders."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import strawberry

from accounts.service import Accounts
from cache.boards import BoardCache, BoardPage
from cache.feeds import FeedCache
from cache.trending import TrendingCache
from domain.errors import Forbidden, Unauthenticated
from domain.identity import Role, Viewer
from graph.repos import Repositories
from media.service import ImageService
from notifications.service import NotificationService
from resolvers.loaders import Loaders
from server.ratelimit import CommentLimits, InviteLimits
from visual.service import VisualSearch
from walks.engine import WalkEngine


@dataclass
class Context:
    repos: Repositories
    viewer: Viewer | None
    images: ImageService
    walks: WalkEngine
    board_cache: BoardCache
    feed_cache: FeedCache
    notifications: NotificationService
    visual: VisualSearch
    trending: TrendingCache
    accounts: Accounts
    # The client's address, as the request limits see it (a trusted proxy's X-Forwarded-For
    # believed): what sign-ins and sign-ups are throttled by.
    client_address: str
    loaders: Loaders = field(init=False)
    # Board pages this request has read, by board id (see `reads.board`).
    pages: dict[str, BoardPage] = field(init=False)
    # A WebSocket's `connection_init` payload (strawberry sets it): where its token arrives.
    connection_params: dict[str, Any] | None = None
    # When a long-lived connection's token runs out (an HTTP request's is checked as it comes).
    expires_at: float | None = None
    # Limits on new comments per user (None: none, for tools that build a context).
    comment_limits: CommentLimits | None = None
    # Limits on new invites per user (None: none).
    invite_limits: InviteLimits | None = None

    def __post_init__(self) -> None:
        self.fresh_loaders()

    def fresh_loaders(self) -> None:
        """Forget what this request has loaded (after a write changed it)."""
        self.loaders = Loaders(self.repos, self.viewer_id)
        self.pages = {}

    @property
    def viewer_id(self) -> str | None:
        return self.viewer.user_id if self.viewer else None

    def require_user(self) -> str:
        """The signed-in user's id; anonymous or non-user callers get a clear error."""
        if self.viewer is None:
            raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
        if self.expires_at is not None and time.time() > self.expires_at:
            raise Unauthenticated("the token has expired; connect again with a new one")
        if Role.USER not in self.viewer.roles:
            raise Forbidden("this needs a token with the 'user' role")
        return self.viewer.user_id


Info = strawberry.Info[Context, None]
