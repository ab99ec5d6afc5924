"""What the graph holds, as plain records, and the rules every input must meet."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.errors import BadInput

HANDLE = re.compile(r"^[a-z0-9_]{3,30}$")
LANG = re.compile(r"^[a-z]{2}$")
TOPIC = re.compile(r"^[\w][\w &'+-]{0,39}$")
MAX_NAME = 100
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_LINK = 2048
MAX_TOPICS = 10
MAX_PAGE = 100


class Privacy(StrEnum):
    PUBLIC = "PUBLIC"
    SECRET = "SECRET"  # noqa: S105 - a privacy level, not a password


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class User:
    id: str
    handle: str
    display_name: str
    created_at: int
    lang: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return cls(row["id"], row["handle"], row["displayName"], row["createdAt"], row["lang"])


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    description: str | None
    privacy: Privacy
    created_at: int
    owner_id: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Board:
        return cls(
            row["id"],
            row["name"],
            row.get("description"),
            Privacy(row["privacy"]),
            row["createdAt"],
            row["ownerId"],
        )

    def to_row(self) -> dict[str, Any]:
        """The inverse of `from_row`, for caches."""
        return {
            "id": self.id, "name": self.name, "description": self.description,
            "privacy": self.privacy.value, "createdAt": self.created_at, "ownerId": self.owner_id,
        }  # fmt: skip


@dataclass(frozen=True)
class Pin:
    id: str
    title: str
    description: str | None
    link: str | None
    created_at: int
    lang: str
    creator_id: str | None
    image_key: str | None = None
    width: int | None = None
    height: int | None = None
    dominant_color: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Pin:
        return cls(
            row["id"],
            row["title"],
            row.get("description"),
            row.get("link"),
            row["createdAt"],
            row.get("lang") or "en",
            row.get("creatorId"),
            row.get("imageKey"),
            row.get("width"),
            row.get("height"),
            row.get("dominantColor"),
        )

    def to_row(self) -> dict[str, Any]:
        """The inverse of `from_row` (absent values left out), for caches."""
        row = {
            "id": self.id, "title": self.title, "description": self.description,
            "link": self.link, "createdAt": self.created_at, "lang": self.lang,
            "creatorId": self.creator_id, "imageKey": self.image_key, "width": self.width,
            "height": self.height, "dominantColor": self.dominant_color,
        }  # fmt: skip
        return {key: value for key, value in row.items() if value is not None}


@dataclass(frozen=True)
class Topic:
    id: str
    name: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Topic:
        return cls(row["id"], row["name"])


@dataclass(frozen=True)
class Page[T]:
    """One page of a keyset-paginated list; `cursors[i]` resumes after `items[i]`."""

    items: list[T]
    cursors: list[str]
    has_next: bool

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def text(value: str | None, what: str, *, max_len: int, required: bool = True) -> str | None:
    """Trim a user string; refuse empty (when required) or oversized values."""
    if value is None:
        if required:
            raise BadInput(f"{what} is required")
        return None
    if not isinstance(value, str):
        raise BadInput(f"{what} must be a string")
    trimmed = value.strip()
    if "\x00" in trimmed:
        raise BadInput(f"{what} contains a NUL character")
    if not trimmed:
        if required:
            raise BadInput(f"{what} must not be empty")
        return None
    if len(trimmed) > max_len:
        raise BadInput(f"{what} is longer than {max_len} characters")
    return trimmed


def required_text(value: str | None, what: str, *, max_len: int) -> str:
    result = text(value, what, max_len=max_len)
    assert result is not None
    return result


def handle(value: str) -> str:
    normalised = value.strip().lower() if isinstance(value, str) else ""
    if not HANDLE.match(normalised):
        raise BadInput("handle must be 3-30 characters: letters, digits or underscore")
    return normalised


def lang(value: str | None) -> str:
    normalised = (value or "en").strip().lower()
    if not LANG.match(normalised):
        raise BadInput("lang must be a two-letter ISO 639-1 code such as 'en'")
    return normalised


def topic_name(value: str) -> str:
    normalised = " ".join(value.split()).lower() if isinstance(value, str) else ""
    if not TOPIC.match(normalised):
        raise BadInput(f"topic {value!r} must be 1-40 characters: letters, digits, spaces, &'+-")
    return normalised


def topic_names(values: list[str] | None) -> list[str]:
    names = list(dict.fromkeys(topic_name(value) for value in values or []))
    if len(names) > MAX_TOPICS:
        raise BadInput(f"at most {MAX_TOPICS} topics")
    return names


def link(value: str | None) -> str | None:
    trimmed = text(value, "link", max_len=MAX_LINK, required=False)
    if trimmed is not None and not re.match(r"^https?://[^\s/$.?#][^\s]*$", trimmed, re.I):
        raise BadInput("link must be an http(s) URL")
    return trimmed


def page_size(first: int) -> int:
    if not isinstance(first, int) or first < 0 or first > MAX_PAGE:
        raise BadInput(f"first must be between 0 and {MAX_PAGE}")
    return first
