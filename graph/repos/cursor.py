"""Opaque keyset cursors: a base64url JSON list of the sort key of the last row seen."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from domain.errors import BadInput

MAX_CURSOR = 512


def encode(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, *types: type) -> list[Any] | None:
    """Decode a cursor whose key has one value per type; None when there is no cursor."""
    if cursor is None or cursor == "":
        return None
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        if not isinstance(key, list) or len(key) != len(types):
            raise ValueError
        for value, kind in zip(key, types, strict=True):
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadInput("invalid cursor: pass an endCursor from a previous page") from None
    return key
