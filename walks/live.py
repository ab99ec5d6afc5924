"""Keeping a running engine's walk graph current.

One task per process follows the delta stream and merges each batch into the engine's
graph (a save reaches `/walks/related` within one poll, half a second by default). It also
swaps in newer snapshots from disk, compacts graph + overlay into a new snapshot when
enough deltas have piled up, and rebuilds from the graph store when the stream says
changes were lost. Snapshots and rebuilds are shared by every process on one data
directory; a Redis lock lets one of them do the work.
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
        self._next_disk_check = 0.0
        self._release = deltas.cache.register_script(RELEASE)

    @property
    def cache(self) -> aioredis.Redis:
        return self.deltas.cache

    async def run(self) -> None:
        """Follow until cancelled; Redis or graph-store outages pause it, nothing more."""
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
        if self.compaction_due():
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
        rebuild in another process), with the deltas after it merged in first."""
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

    async def resync(self) -> bool:
        """Rebuild from the graph store. False when another process holds the lock: its
        snapshot arrives through `check_disk` instead."""
        async with self.lock() as held:
            if not held:
                self._next_disk_check = 0.0
                await asyncio.sleep(1.0)
                return False
            position = await self.deltas.position()
            path = await build_and_save(self.backend, self.directory, stream_id=position)
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

    async def compact(self) -> Path | None:
        """Save the current graph (snapshot + overlay) as a new snapshot and serve that."""
        async with self.lock() as held:
            if not held:
                return None
            graph = self.engine.graph
            fresh = replace(
                graph,
                version=str(ULID()),
                built_at=time.time(),
                deltas=0,
                stats={**graph.stats, "compacted_from": graph.version, "deltas": graph.deltas},
            )
            path = await asyncio.to_thread(walk_graph.save, fresh, self.directory)
            await asyncio.to_thread(walk_graph.prune_old, self.directory)
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
