"""Secrets generated once and kept in the data directory (development's JWT secret, the
password key, the VAPID key).

Such a file must outlive restarts (a new secret would sign every user out, lock stored
passwords away or orphan push subscriptions), be readable by nobody else, and be shared by
processes that start together (the server and a CLI command), so exactly one of them makes it.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


class KeyFileError(Exception):
    """The file cannot be made or read; the message names it and says why."""


def read_or_create(path: Path, make: Callable[[], bytes], what: str) -> bytes:
    """The file's bytes, making it with `make()` first when there is none; a file others
    may read is made private (0600) with a warning."""
    try:
        if not path.exists():
            _create(path, make(), what)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning(
                f"the {what} file was readable by others; its mode is now 0600",
                path=str(path),
                mode=oct(mode),
            )
            path.chmod(0o600)
        return path.read_bytes()
    except OSError as error:
        raise KeyFileError(
            f"the {what} file {path} cannot be made or read: {error.strerror or error}"
        ) from None


def _create(path: Path, content: bytes, what: str) -> None:
    """Write the content whole to a private temporary file (O_EXCL, 0600: never readable by
    others, not even briefly), then link it into place, so a concurrent start never reads
    half a file and exactly one of two racing generators wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
            log.info(f"generated a {what}", path=str(path))
        except FileExistsError:
            pass  # another process won the race: its file is the one
    finally:
        temporary.unlink(missing_ok=True)
