"""Ids: opaque, URL-safe, time-sortable strings (ULIDs) that no other id can be derived from."""

from __future__ import annotations

import secrets
import time

from ulid import ULID


def new_id() -> str:
    """A ULID of the current millisecond with all 80 random bits fresh.

    python-ulid's `ULID()` is monotonic: ids made in the same millisecond differ by one, so
    a topic created together with a secret pin would name the pin's id."""
    now_ms = time.time_ns() // 1_000_000
    return str(ULID.from_bytes(now_ms.to_bytes(6, "big") + secrets.token_bytes(10)))


def opaque_id() -> str:
    """An id in the same form that says nothing, not even when: for topics, which a secret
    pin or board may be the first to name (its time would date that secret)."""
    return str(ULID.from_bytes(secrets.token_bytes(16)))
