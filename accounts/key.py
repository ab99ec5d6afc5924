"""The password key (PINGRAPH_PASSWORD_KEY): 32 random bytes, base64url, that seal the stored
password hashes.

Losing or changing the key makes every stored password unreadable, so a generated key is
kept on disk and reused, and a configured key that does not parse stops start-up instead of
being replaced by a fresh one.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from pathlib import Path

from domain.keyfile import KeyFileError, read_or_create

KEY_BYTES = 32
KEY_FILE = "password.key"
VARIABLE = "PINGRAPH_PASSWORD_KEY"
_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


class PasswordKeyError(Exception):
    """The key is unusable; the message says why and names the variable."""


def new_key() -> str:
    """A fresh key, as PINGRAPH_PASSWORD_KEY takes it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).rstrip(b"=").decode()


def parse_key(text: str) -> bytes:
    """The key's bytes; ValueError (never repeating the value: it is a secret) otherwise."""
    text = text.strip()
    if not _B64URL.match(text):
        raise ValueError(f"must be base64url of {KEY_BYTES} random bytes (`pingraph user keygen`)")
    try:
        raw = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except binascii.Error:
        raise ValueError("is not valid base64url") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"must decode to {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def load_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured key, or the data directory's generated one (made on first use)."""
    if configured is not None:
        try:
            return parse_key(configured)
        except ValueError as error:
            raise PasswordKeyError(f"{VARIABLE} {error}") from None
    return _key_file(data_dir / KEY_FILE)


def _key_file(path: Path) -> bytes:
    try:
        text = read_or_create(path, lambda: (new_key() + "\n").encode(), "password key")
        return parse_key(text.decode("ascii"))
    except KeyFileError as error:
        raise PasswordKeyError(f"{VARIABLE} is unset and {error}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise PasswordKeyError(
            f"{VARIABLE} is unset and {path} does not hold a usable key (it {error}); restore "
            f"the file or set {VARIABLE} (a new key makes every stored password unreadable)"
        ) from None
