"""Password rules and argon2id hashing (argon2-cffi's defaults).

Hashing and verifying take a fifth of a second of CPU and 64 MiB by design, so they run in a
worker thread: the event loop goes on serving meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.errors import BadInput

MIN_CHARS = 8
MAX_CHARS = 128

_hasher = PasswordHasher()


def check_password(password: str, what: str = "password") -> None:
    """The rules a new password must meet; BadInput saying which one it breaks."""
    if not isinstance(password, str):
        raise BadInput(f"{what} must be a string")
    if len(password) < MIN_CHARS:
        raise BadInput(f"{what} must be at least {MIN_CHARS} characters long")
    if len(password) > MAX_CHARS:
        raise BadInput(f"{what} must be at most {MAX_CHARS} characters long")
    if not password.strip():
        raise BadInput(f"{what} must not be only whitespace")
    try:
        password.encode()
    except UnicodeEncodeError:
        raise BadInput(f"{what} must be valid Unicode text (it has a lone surrogate)") from None


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, _normalised(password))


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)


async def verify_nothing(password: str) -> None:
    """The work of a verification that fails, for a handle without a password: answering
    it faster would tell which handles exist."""
    await verify_password(await asyncio.to_thread(_dummy_hash), password)


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's defaults."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, _normalised(password))
    except (VerificationError, InvalidHashError):
        return False


def _normalised(password: str) -> bytes:
    # NFKC, so that the same password typed on systems that compose accents differently
    # is the same password; surrogates pass through (sign-in refuses nothing as malformed).
    return unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_bytes(16))
