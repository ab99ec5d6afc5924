"""Who is calling: the roles a token grants and the verified viewer built from it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    ANALYST = "analyst"
    RECOMMENDER = "recommender"


@dataclass(frozen=True)
class Viewer:
    """Who is calling, from a verified token: `user_id` is the token's `sub`."""

    user_id: str
    roles: frozenset[Role]
