"""The password key (PINGRAPH_PASSWORD_KEY): 32 random bytes, base64url, that seal the stored
password hashes.

Losing or changing the key makes every stored password unreadable, so a generated key is
kept on disk and reused, and a configured key that does not parse stops start-up instead of
being replaced by a fresh one.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

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
    """Read the generated key, making it first when there is none; a file others may read
    is made private (0600) with a warning."""
    try:
        if not path.exists():
            _generate(path)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning(
                "the password key file was readable by others; its mode is now 0600",
                path=str(path),
                mode=oct(mode),
            )
            path.chmod(0o600)
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise PasswordKeyError(
            f"{VARIABLE} is unset and the key file {path} cannot be made or read: {reason}"
        ) from None
    try:
        return parse_key(text)
    except ValueError as error:
        raise PasswordKeyError(
            f"{VARIABLE} is unset and {path} does not hold a usable key (it {error}); restore "
            f"the file or set {VARIABLE} (a new key makes every stored password unreadable)"
        ) from None


def _generate(path: Path) -> None:
    """Write a new key whole to a private temporary file (O_EXCL, 0600: never readable by
    others, not even briefly), then link it into place, so a concurrent start (server and
    CLI) never reads half a key and exactly one of two racing generators wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(new_key() + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
            log.info("generated a password key", path=str(path))
        except FileExistsError:
            pass  # another process won the race: its key is the one
    finally:
        temporary.unlink(missing_ok=True)
