"""Keeping a running engine's walk graph current.

One task per process follows the delta stream and merges each batch into the engine's
graph (a save reaches `/walks/related` within one poll, half a second by default). It also
swaps in newer snapshots from disk, compacts graph + overlay into a new snapshot when
enough deltas have piled up, and rebuilds from the graph store when the stream says
changes were lost. Snapshots and rebuilds are shared by every process on one data
directory, and, when the image store is shared (`walks/publish.py`), by every replica:
they are published there and the newest is downloaded. A Redis lock lets one process do
the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import redis.asyncio as aioredis
import structlog
from ulid import ULID

from cache.errors import REDIS_ERRORS
from domain.errors import Unavailable
from graph.backends.base import GraphBackend
from walks import graph as walk_graph
from walks.build import build_and_save
from walks.deltas import GENESIS, RESYNC, START, DeltaLog
from walks.engine import WalkEngine
from walks.export import public_boards_by_id
from walks.graph import WalkGraph
from walks.overlay import OPS, fold, merge
from walks.publish import PublishedSnapshots

log = structlog.get_logger(__name__)

LOCK = "pg:walks:build-lock"
LOCK_S = 900
BATCH = 10_000
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LiveWalks:
    def __init__(
        self,
        engine: WalkEngine,
        deltas: DeltaLog,
        backend: GraphBackend,
        directory: Path,
        *,
        compact_after: int = 100_000,
        compact_every_s: float = 3600.0,
        snapshot_check_s: float = 15.0,
        poll_ms: int = 500,
        on_event: Callable[[str, int], None] | None = None,
        shelf: PublishedSnapshots | None = None,
    ) -> None:
        self.engine = engine
        self.deltas = deltas
        self.backend = backend
        self.directory = directory
        self.compact_after = compact_after
        self.compact_every_s = compact_every_s
        self.snapshot_check_s = snapshot_check_s
        self.poll_ms = poll_ms
        self.on_event = on_event or (lambda event, count: None)
        self.lag_s = 0.0
        self.resync_since: str | None = None  # a ULID: snapshots newer than it are the truth
        self.shelf = shelf  # None: snapshots are shared through the data directory only
        self._next_disk_check = 0.0
        self._next_compaction = 0.0  # put off after another replica published a newer one
        self._pull: asyncio.Task[None] | None = None
        self._release = deltas.cache.register_script(RELEASE)

    @property
    def cache(self) -> aioredis.Redis:
        return self.deltas.cache

    @property
    def pulling(self) -> bool:
        """A published snapshot is being downloaded."""
        return self._pull is not None and not self._pull.done()

    async def run(self) -> None:
        """Follow until cancelled; Redis or graph-store outages pause it, nothing more."""
        try:
            await self._follow()
        finally:
            if self._pull is not None:
                self._pull.cancel()

    async def _follow(self) -> None:
        failing = False
        while True:
            try:
                await self.step()
                failing = False
            except asyncio.CancelledError:
                raise
            except (*REDIS_ERRORS, Unavailable) as error:
                if not failing:
                    log.warning("walk graph updates paused", error=str(error))
                failing = True
                self.on_event("error", 1)
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("walk graph update failed")
                self.on_event("error", 1)
                await asyncio.sleep(1.0)

    async def step(self, *, block_ms: int | None = None) -> int:
        """One round; returns the number of deltas merged."""
        if time.monotonic() >= self._next_disk_check:
            await self.check_disk()
            self._next_disk_check = time.monotonic() + self.snapshot_check_s
        if self.resync_since is not None:
            await self.resync()
            return 0
        start = self.engine.graph
        graph, merged = await self.catch_up(
            start, block_ms=self.poll_ms if block_ms is None else block_ms
        )
        if graph is not start and self.engine.graph is start:  # unless swapped meanwhile
            self.engine.swap(graph)
        if self.compaction_due() and self._may_compact():
            await self.compact()
        return merged

    async def catch_up(
        self, graph: WalkGraph, *, block_ms: int | None = None, rounds: int = 1
    ) -> tuple[WalkGraph, int]:
        """`graph` with the stream's entries after its position merged in (`rounds`
        batches at most; 0 for all of them)."""
        merged = 0
        done = 0
        while rounds == 0 or done < rounds:
            done += 1
            state = await self.deltas.state(graph.stream_id)
            self.lag_s = state.lag_s
            if state.lost:
                self.lost("the delta stream was trimmed or lost")
                break
            entries = await self.deltas.read(graph.stream_id, count=BATCH, block_ms=block_ms)
            if not entries:
                break
            changes = []
            for _, delta in entries:
                if delta.op == RESYNC:
                    self.lost("a writer could not log its changes")
                elif delta.op == GENESIS and graph.stream_id != START:
                    self.lost("the delta stream started again")
                elif delta.op in OPS:
                    changes.append(delta)
            if self.resync_since is not None:
                break
            folded = fold(changes)
            truth = await public_boards_by_id(self.backend, folded.boards_to_read(graph))
            graph = await asyncio.to_thread(merge, graph, folded, truth, len(changes))
            graph = replace(graph, stream_id=entries[-1][0])
            merged += len(changes)
            self.on_event("applied", len(changes))
            if len(entries) < BATCH:
                break
            block_ms = None
        return graph, merged

    def lost(self, why: str) -> None:
        if self.resync_since is None:
            log.warning("walk graph rebuilds from the graph store", reason=why)
            self.resync_since = str(ULID())
            self.on_event("resync", 1)

    async def check_disk(self) -> None:
        """Swap in a newer snapshot (written by `pingraph walks build`, a compaction or a
        rebuild in another process, or downloaded from the published ones), with the
        deltas after it merged in first."""
        self.start_pull()
        path = walk_graph.newest(self.directory)
        if path is None or path.name <= self.engine.graph.version:
            return
        try:
            loaded = await asyncio.to_thread(walk_graph.load, path)
        except (OSError, ValueError) as error:
            log.warning("walk snapshot not loaded", path=str(path), error=str(error))
            return
        if self.resync_since is not None and loaded.version > self.resync_since:
            self.resync_since = None  # built after the loss: it is the truth
        graph = loaded
        if self.resync_since is None:
            graph, _ = await self.catch_up(loaded, rounds=0)
        self.engine.swap(graph)
        log.info("walk graph swapped", version=graph.version, edges=graph.edges)

    def start_pull(self) -> None:
        """Download the newest published snapshot when it is newer than the served one, in
        a task of its own (deltas keep flowing meanwhile); the next check swaps it in."""
        if self.shelf is not None and not self.pulling:
            self._pull = asyncio.create_task(self._pull_newer(self.shelf))

    async def _pull_newer(self, shelf: PublishedSnapshots) -> None:
        try:
            if await shelf.try_pull(newer_than=self.engine.graph.version) is not None:
                self._next_disk_check = 0.0
        except Exception:  # a task of its own: nobody else would see it
            log.exception("walk snapshot download failed")

    async def _published_since(self, version: str) -> bool:
        """Another process published a snapshot newer than `version`."""
        return self.shelf is not None and await self.shelf.try_latest_version() > version

    async def _publish(self, path: Path) -> None:
        if self.shelf is not None:
            await self.shelf.try_publish(path)

    async def resync(self) -> bool:
        """Rebuild from the graph store. False when another process holds the lock or has
        published a snapshot built since the loss: that one arrives through `check_disk`."""
        path = None
        async with self.lock() as held:
            if held and not await self._published_since(self.resync_since or ""):
                position = await self.deltas.position()
                path = await build_and_save(self.backend, self.directory, stream_id=position)
                await self._publish(path)
        if path is None:
            self._next_disk_check = 0.0
            await asyncio.sleep(1.0)
            return False
        graph = await asyncio.to_thread(walk_graph.load, path)
        self.resync_since = None
        self.engine.swap(graph)
        log.info("walk graph rebuilt", version=graph.version, edges=graph.edges)
        return True

    def compaction_due(self) -> bool:
        graph = self.engine.graph
        if graph.deltas >= self.compact_after:
            return True
        return graph.deltas > 0 and time.time() - graph.built_at >= self.compact_every_s

    def _may_compact(self) -> bool:
        return not self.pulling and time.monotonic() >= self._next_compaction

    async def compact(self) -> Path | None:
        """Save the current graph (snapshot + overlay) as a new snapshot, publish it and
        serve it. None when another process holds the lock, or has published a newer
        snapshot (it folded the same deltas: that one is pulled instead)."""
        async with self.lock() as held:
            if not held:
                return None
            graph = self.engine.graph
            if await self._published_since(graph.version):
                self._next_disk_check = 0.0
                self._next_compaction = time.monotonic() + self.snapshot_check_s
                return None
            fresh = replace(
                graph,
                version=str(ULID()),
                built_at=time.time(),
                deltas=0,
                stats={**graph.stats, "compacted_from": graph.version, "deltas": graph.deltas},
            )
            path = await asyncio.to_thread(walk_graph.save, fresh, self.directory)
            await asyncio.to_thread(walk_graph.prune_old, self.directory)
            await self._publish(path)  # under the lock: the others see it before compacting
        loaded = await asyncio.to_thread(walk_graph.load, path)
        if self.engine.graph is graph:
            self.engine.swap(loaded)
        self.on_event("compaction", 1)
        log.info("walk graph compacted", version=fresh.version, deltas=graph.deltas)
        return path

    def lock(self) -> _Lock:
        return _Lock(self)


class _Lock:
    """The build lock, if free: `async with live.lock() as held`."""

    def __init__(self, live: LiveWalks) -> None:
        self.live = live
        self.token = secrets.token_hex(8)
        self.held = False

    async def __aenter__(self) -> bool:
        self.held = bool(await self.live.cache.set(LOCK, self.token, nx=True, ex=LOCK_S))
        return self.held

    async def __aexit__(self, *exc: object) -> None:
        if self.held:
            with contextlib.suppress(*REDIS_ERRORS):  # it expires
                await self.live._release(keys=[LOCK], args=[self.token])
