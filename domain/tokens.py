"""Signed tokens: HS256 JWTs with the user's id as `sub`.

An access token (`issue`) carries `roles` and is what `Authorization: Bearer` takes
(`server/auth.py` verifies it). A refresh token (`issue_refresh`) carries the user's password
generation (`gen`) and a unique id (`jti`) instead, and its own audience: PyJWT refuses a
token with an audience when none is expected, so a refresh token is never a bearer token, and
an access token, having no audience, is never a refresh token.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from domain.errors import BadInput, Unauthenticated
from domain.identity import Role

ALGORITHM = "HS256"
DEFAULT_TTL_S = 7 * 24 * 3600
MAX_TTL_S = 366 * 24 * 3600
LEEWAY_S = 30
REFRESH_AUDIENCE = "pingraph-refresh"


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: int  # epoch seconds


@dataclass(frozen=True)
class RefreshClaims:
    user_id: str
    generation: int
    token_id: str
    expires_at: int  # epoch seconds


def issue(secret: str, user_id: str, roles: list[Role], ttl_s: int = DEFAULT_TTL_S) -> Issued:
    """An access token for `Authorization: Bearer`."""
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise BadInput(f"ttl must be between 1 and {MAX_TTL_S} seconds")
    if not roles:
        raise BadInput("a token needs at least one role")
    now = int(time.time())
    claims = {
        "sub": user_id,
        "roles": sorted({role.value for role in roles}),
        "iat": now,
        "exp": now + ttl_s,
    }
    return Issued(jwt.encode(claims, secret, algorithm=ALGORITHM), now + ttl_s)


def issue_token(secret: str, user_id: str, roles: list[Role], ttl_s: int = DEFAULT_TTL_S) -> str:
    return issue(secret, user_id, roles, ttl_s).token


def issue_refresh(secret: str, user_id: str, generation: int, ttl_s: int) -> Issued:
    """A refresh token, valid while the user's password generation stays `generation`."""
    now = int(time.time())
    claims = {
        "sub": user_id,
        "aud": REFRESH_AUDIENCE,
        "gen": generation,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + ttl_s,
    }
    return Issued(jwt.encode(claims, secret, algorithm=ALGORITHM), now + ttl_s)


def read_refresh(token: str, secret: str) -> RefreshClaims:
    """The claims of a refresh token this server issued; Unauthenticated for anything else
    (an access token included)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=REFRESH_AUDIENCE,
            options={"require": ["exp", "sub", "aud", "gen", "jti"]},
            leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the refresh token has expired; sign in again") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("that is not a valid refresh token; sign in again") from None
    user_id, generation, token_id = claims["sub"], claims["gen"], claims["jti"]
    if (
        not isinstance(user_id, str)
        or not isinstance(generation, int)
        or isinstance(generation, bool)
        or not isinstance(token_id, str)
    ):
        raise Unauthenticated("the refresh token's claims are malformed; sign in again")
    return RefreshClaims(user_id, generation, token_id, int(claims["exp"]))
