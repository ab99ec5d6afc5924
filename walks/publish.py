"""Walk snapshots shared through the object store, so that servers with different data
directories (replicas on several machines) answer from the same version.

In the image store (the S3/MinIO bucket, or a shared directory):

    walks/<version>/<file>   a snapshot's files, as `walks/graph.py` saves them
    walks/latest.json        the pointer: the newest version, each file's size and sha256

A publisher uploads the files first and writes the pointer last, so a reader never follows
it to a half-uploaded snapshot. A reader downloads into a temporary directory beside its own
snapshots, checks each file against the pointer and renames the directory into place, where
`walks/graph.py` finds it like any other. Versions are ULIDs, ordered by build time: a
publisher that finds a newer version published leaves the pointer alone, and the newest
`keep` versions stay in the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from domain.errors import NotFound
from media.store import STORE_ERRORS, ImageStore, Moved
from walks import graph as walk_graph

log = structlog.get_logger(__name__)

PREFIX = "walks/"
POINTER = f"{PREFIX}latest.json"
KEEP = 3
FORMAT = 1
META = "meta.json"  # written last, read last: a directory with it is complete
_VERSION = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")  # a ULID
_FILE = re.compile(r"^[a-z_]+\.(npy|json)$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# A transfer's progress: what (`uploading <version>`), bytes done, bytes in all. Called from
# worker threads.
Transfer = Callable[[str, int, int], None]

# What a failed publish or pull may raise: the store's errors, or a bad pointer or download.
SHARE_ERRORS: tuple[type[Exception], ...] = (*STORE_ERRORS, ValueError)


class SnapshotMismatch(ValueError):
    """A downloaded file is not what the pointer describes."""


@dataclass(frozen=True)
class SnapshotFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What the pointer holds: a published version and its files (meta.json last)."""

    version: str
    files: tuple[SnapshotFile, ...]
    published_at: float = 0.0

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "version": self.version,
                "publishedAt": self.published_at,
                "bytes": self.size,
                "files": [vars(file) for file in self.files],
            },
            indent=2,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """The manifest `data` holds; ValueError naming what is wrong with it."""
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT}")
            files = tuple(_file(item) for item in raw["files"])
            manifest = cls(_version(raw["version"]), files, float(raw.get("publishedAt", 0)))
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise ValueError(f"{POINTER} is not a walk snapshot pointer: {error}") from None
        if not files or files[-1].name != META:
            raise ValueError(f"{POINTER} is not a walk snapshot pointer: {META} must come last")
        return manifest


def _version(value: Any) -> str:
    if not isinstance(value, str) or not _VERSION.match(value):
        raise ValueError(f"version {value!r} is not a ULID")
    return value


def _file(item: Any) -> SnapshotFile:
    name, size, sha256 = item["name"], item["size"], item["sha256"]
    if not isinstance(name, str) or not _FILE.match(name):
        raise ValueError(f"file name {name!r}")
    if not isinstance(size, int) or size < 0:
        raise ValueError(f"size {size!r} of {name}")
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ValueError(f"sha256 {sha256!r} of {name}")
    return SnapshotFile(name, size, sha256)


def describe(path: Path) -> Manifest:
    """The manifest of the snapshot directory `path`: each file's size and hash."""
    names = sorted(p.name for p in path.iterdir() if p.is_file())
    if META not in names:
        raise ValueError(f"{path} is not a complete walk snapshot (no {META})")
    names.remove(META)
    files = tuple(
        SnapshotFile(name, (path / name).stat().st_size, _sha256(path / name))
        for name in [*names, META]
    )
    return Manifest(_version(path.name), files, time.time())


def _sha256(path: Path) -> str:
    with path.open("rb") as reader:
        return hashlib.file_digest(reader, "sha256").hexdigest()


def _check(path: Path, expected: SnapshotFile) -> None:
    size = path.stat().st_size
    if size != expected.size:
        raise SnapshotMismatch(f"{expected.name}: {size} bytes, the pointer says {expected.size}")
    if _sha256(path) != expected.sha256:
        raise SnapshotMismatch(f"{expected.name}: its sha256 is not the pointer's")


def _move_into_place(partial: Path, target: Path) -> None:
    try:
        partial.rename(target)
    except OSError:
        if not (target / META).is_file():
            raise
        # Another process of this data directory downloaded it first: theirs is as good.


class PublishedSnapshots:
    """Publishes snapshots from `directory` to `store`, and pulls the newest into it."""

    def __init__(
        self,
        store: ImageStore,
        directory: Path,
        *,
        keep: int = KEEP,
        progress: Transfer | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.keep = keep
        self.progress = progress
        self.on_event = on_event or (lambda event: None)

    async def latest(self) -> Manifest | None:
        """The pointer, or None when nothing is published yet."""
        try:
            data = await self.store.get(POINTER)
        except NotFound:
            return None
        return Manifest.from_json(data)

    async def publish(self, path: Path) -> Manifest | None:
        """Upload the snapshot at `path`, then point at it. None, with nothing uploaded,
        when the same or a newer version is published already."""
        current = await self._published_version()
        if current >= path.name:
            log.info("walk snapshot not published: a newer one is", version=path.name,
                     published=current)  # fmt: skip
            return None
        started = time.perf_counter()
        manifest = await asyncio.to_thread(describe, path)
        moved = self._counter(f"uploading {manifest.version}", manifest.size)
        for file in manifest.files:
            key = f"{PREFIX}{manifest.version}/{file.name}"
            await self.store.put_file(key, path / file.name, "application/octet-stream", moved)
        await self.store.put(POINTER, manifest.to_json(), "application/json")
        self.on_event("published")
        log.info("walk snapshot published", version=manifest.version, bytes=manifest.size,
                 seconds=round(time.perf_counter() - started, 3))  # fmt: skip
        await self._prune(manifest.version)
        return manifest

    async def pull(self, *, newer_than: str = "") -> Path | None:
        """The newest published snapshot in the local directory, downloaded unless it is
        there already; None when nothing newer than `newer_than` is published."""
        manifest = await self.latest()
        if manifest is None or manifest.version <= newer_than:
            return None
        target = self.directory / manifest.version
        if not (target / META).is_file():
            await self._download(manifest, target)
        return target

    async def try_publish(self, path: Path) -> bool:
        """`publish`, a failure logged rather than raised: this process still serves the
        snapshot, other replicas pick up a later one."""
        try:
            return await self.publish(path) is not None
        except SHARE_ERRORS as error:
            self._failed("walk snapshot not published", path.name, error)
            return False

    async def try_pull(self, *, newer_than: str = "") -> Path | None:
        """`pull`, a failure logged rather than raised (the caller keeps what it has)."""
        try:
            return await self.pull(newer_than=newer_than)
        except SHARE_ERRORS as error:
            self._failed("published walk snapshot not downloaded", None, error)
            return None

    async def try_latest_version(self) -> str:
        """The published version, or "" when there is none or the store does not answer."""
        try:
            manifest = await self.latest()
        except SHARE_ERRORS as error:
            self._failed("walk snapshot pointer not read", None, error)
            return ""
        return manifest.version if manifest else ""

    async def _published_version(self) -> str:
        try:
            manifest = await self.latest()
        except ValueError as error:  # unreadable: the publish replaces it
            log.warning("walk snapshot pointer replaced", error=str(error))
            return ""
        return manifest.version if manifest else ""

    async def _download(self, manifest: Manifest, target: Path) -> None:
        started = time.perf_counter()
        # A name of its own: processes sharing this data directory may download at once.
        partial = self.directory / f".{manifest.version}.{secrets.token_hex(4)}.partial"
        await asyncio.to_thread(partial.mkdir, parents=True)
        moved = self._counter(f"downloading {manifest.version}", manifest.size)
        try:
            for file in manifest.files:
                local = partial / file.name
                await self.store.get_file(f"{PREFIX}{manifest.version}/{file.name}", local, moved)
                await asyncio.to_thread(_check, local, file)
            await asyncio.to_thread(_move_into_place, partial, target)
        finally:
            await asyncio.to_thread(shutil.rmtree, partial, True)
        await asyncio.to_thread(walk_graph.prune_old, self.directory)
        self.on_event("pulled")
        log.info("walk snapshot downloaded", version=manifest.version, bytes=manifest.size,
                 seconds=round(time.perf_counter() - started, 3))  # fmt: skip

    async def _prune(self, pointed: str) -> None:
        """Delete all but the newest `keep` versions (and the one pointed at)."""
        try:
            objects = await self.store.list(PREFIX)
            versions = sorted({parts[1] for o in objects if len(parts := o.key.split("/")) == 3})
            kept = {*versions[-self.keep :], pointed}
            for stored in objects:
                parts = stored.key.split("/")
                if len(parts) == 3 and parts[1] not in kept:
                    await self.store.delete(stored.key)
        except STORE_ERRORS as error:  # the next publish prunes them
            log.warning("old walk snapshots not pruned", error=str(error))

    def _counter(self, what: str, total: int) -> Moved:
        report = self.progress
        if report is None:
            return lambda count: None
        done = 0
        report(what, 0, total)

        def moved(count: int) -> None:
            nonlocal done
            done += count
            report(what, done, total)

        return moved

    def _failed(self, what: str, version: str | None, error: Exception) -> None:
        self.on_event("share_error")
        log.warning(what, version=version, error=str(error) or type(error).__name__)
