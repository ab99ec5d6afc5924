"""Bearer tokens: HS256 JWTs (PyJWT) with `sub` = user id and `roles`, and an expiry.
Issuing lives in `domain/tokens.py`, where the accounts service issues them too."""

from __future__ import annotations

import time

import jwt
from starlette.requests import HTTPConnection

from domain.errors import Unauthenticated
from domain.identity import Role, Viewer
from domain.recent import Recent
from domain.tokens import ALGORITHM, DEFAULT_TTL_S, LEEWAY_S, MAX_TTL_S, issue_token

__all__ = [
    "ALGORITHM",
    "DEFAULT_TTL_S",
    "LEEWAY_S",
    "MAX_TTL_S",
    "decode_token",
    "expiry",
    "issue_token",
    "viewer_from",
]

# Verified tokens, so a client's every request costs a dictionary look-up, not an HMAC and a
# JSON parse: a token's signature does not change, only whether it has expired.
VERIFIED_TOKENS = 8192
_verified: Recent[tuple[str, str], tuple[Viewer, float]] = Recent(VERIFIED_TOKENS)


def viewer_from(connection: HTTPConnection, secret: str) -> Viewer | None:
    """The caller behind `Authorization: Bearer <token>`, or None when there is no header.

    A header that is present but wrong is an error, never a silent anonymous request: a
    client with an expired token must learn that it has to sign in again.
    """
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return decode_token(token.strip(), secret)


def expiry(token: str) -> float:
    """When a token that `decode_token` accepted expires, epoch seconds (with the leeway)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"]) + LEEWAY_S


def decode_token(token: str, secret: str) -> Viewer:
    known = _verified.get((token, secret))
    if known is not None and time.time() <= known[1]:
        return known[0]
    viewer, expires_at = _verify(token, secret)
    _verified.put((token, secret), (viewer, expires_at))
    return viewer


def _verify(token: str, secret: str) -> tuple[Viewer, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
            leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired; get a new one") from None
    except jwt.InvalidSignatureError:
        raise Unauthenticated(
            "the token is not valid: it was signed with another secret than this server's "
            "(PINGRAPH_JWT_SECRET; in development, the one generated in the server's data "
            "directory): issue it with the server's settings"
        ) from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("the token is not valid") from None
    roles = claims.get("roles", [])
    if (
        not isinstance(roles, list)
        or not all(isinstance(role, str) for role in roles)
        or not isinstance(claims["sub"], str)
    ):
        raise Unauthenticated("the token's claims are malformed")
    known = {role.value for role in Role}
    granted = frozenset(Role(role) for role in roles if role in known)
    if not granted:
        # Every token is issued with a role; one without any is not ours to honour.
        names = ", ".join(sorted(known))
        raise Unauthenticated(f"the token grants no known role ({names}); get a new one")
    return Viewer(claims["sub"], granted), float(claims["exp"]) + LEEWAY_S
