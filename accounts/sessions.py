"""Sessions: a short-lived access token (the bearer token every request carries) and a
refresh token that gets the next session.

A refresh token works once: using it spends it (kept in Redis until it would have expired),
and the new session comes with a new one. A token presented a second time means two parties
hold it, so the service ends all the user's sessions (`Accounts.refresh`). A refresh token
also names the generation it was issued under; changing the password (or a reuse) moves the
generation on, which ends every session started before. While Redis is away no refresh token
can be spent, so none is accepted (sign-in still works): a replay must not pass unseen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog

from domain.errors import Unauthenticated
from domain.identity import Role
from domain.tokens import LEEWAY_S, RefreshClaims, issue, issue_refresh, read_refresh
from graph.model import User

log = structlog.get_logger(__name__)

SPENT_PREFIX = "pg:refresh:spent:"
CANNOT_REFRESH = "sessions cannot be refreshed right now; sign in again"


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: int  # epoch seconds
    refresh_token: str
    user: User


class Sessions:
    def __init__(
        self, secret: str, cache: aioredis.Redis, *, access_ttl_s: int, refresh_ttl_s: int
    ) -> None:
        self.secret = secret
        self.cache = cache
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    def start(self, user: User, generation: int) -> Session:
        access = issue(self.secret, user.id, [Role.USER], self.access_ttl_s)
        refresh = issue_refresh(self.secret, user.id, generation, self.refresh_ttl_s)
        return Session(access.token, access.expires_at, refresh.token, user)

    def read_refresh(self, token: str) -> RefreshClaims:
        return read_refresh(token, self.secret)

    async def spend(self, claims: RefreshClaims) -> bool:
        """Mark a refresh token used: True the first time, False when it was used before.
        Unauthenticated while Redis does not answer (failing closed)."""
        ttl_s = max(1, claims.expires_at + LEEWAY_S - int(time.time()))
        try:
            first_use = await self.cache.set(SPENT_PREFIX + claims.token_id, 1, nx=True, ex=ttl_s)
        except (aioredis.RedisError, OSError) as error:  # away, or refusing writes
            log.warning("a session was not refreshed: the cache does not answer", error=str(error))
            raise Unauthenticated(CANNOT_REFRESH) from None
        return bool(first_use)
