"""Password credentials: one `(:Credential {user, sealed, generation, updatedAt})` node per
user with a password, found by the user's id and joined to nothing.

The hash lives apart from the `User` node, so that no read of users can return it, and only
sealed (`accounts/seal.py`): analysts' queries and store dumps see ciphertext. `generation`
counts password changes (and refresh tokens used twice: `Accounts.refresh` then moves it on
over the same hash); refresh tokens carry it, and one issued under an older generation is
refused. A user without a credential (made by `pingraph user create`, or the demo data) has
generation 0 and no password. A new user's credential is written with the user, by
`UserRepo.create`. These writes change nothing anyone can read, so they publish no event.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import Conflict, NotFound
from graph.backends.base import GraphBackend
from graph.model import now_ms

CREDENTIAL = """
MATCH (c:Credential {user: $user})
RETURN c.sealed AS sealed, c.generation AS generation
"""
# An operator's reset (`pingraph user set-password`): made when missing, and a new generation.
RESET = """
MATCH (u:User {id: $user})
MERGE (c:Credential {user: $user})
ON CREATE SET c.generation = 0
SET c.sealed = $sealed, c.updatedAt = $now, c.generation = c.generation + 1
RETURN c.generation AS generation
"""
# Only over the hash that was read (a change meanwhile wins): a password change moves the
# generation on (`bump` 1), a rehash with new parameters does not (0).
REPLACE = """
MATCH (c:Credential {user: $user})
WHERE c.sealed = $previous
SET c.sealed = $sealed, c.updatedAt = $now, c.generation = c.generation + $bump
RETURN c.generation AS generation
"""


@dataclass(frozen=True)
class StoredCredential:
    user_id: str
    sealed: str
    generation: int


class CredentialRepo:
    def __init__(self, backend: GraphBackend) -> None:
        self.backend = backend

    async def get(self, user_id: str) -> StoredCredential | None:
        rows = await self.backend.read(CREDENTIAL, {"user": user_id})
        if not rows:
            return None
        return StoredCredential(user_id, rows[0]["sealed"], int(rows[0]["generation"]))

    async def generation(self, user_id: str) -> int:
        """The user's password generation: 0 without a password."""
        found = await self.get(user_id)
        return found.generation if found else 0

    async def set(self, user_id: str, sealed: str) -> int:
        """Set a password whatever it was; returns the new generation."""
        params = {"user": user_id, "sealed": sealed, "now": now_ms()}
        rows = await self.backend.write(RESET, params)
        if not rows:
            raise NotFound(f"no user {user_id!r}")
        return int(rows[0]["generation"])

    async def replace(self, before: StoredCredential, sealed: str, *, new_generation: bool) -> int:
        """Replace the hash read as `before`; Conflict when it changed since. Returns the
        generation."""
        params = {
            "user": before.user_id,
            "previous": before.sealed,
            "sealed": sealed,
            "now": now_ms(),
            "bump": 1 if new_generation else 0,
        }
        rows = await self.backend.write(REPLACE, params)
        if not rows:
            raise Conflict("the password was changed meanwhile; try again")
        return int(rows[0]["generation"])
