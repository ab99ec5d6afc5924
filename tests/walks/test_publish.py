"""Walk snapshots shared through the image store: published by one data directory, pulled
into another (replicas on different machines), checked, pruned; both image stores."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from media.open import open_image_store
from media.store import ImageStore
from server.services import Services
from walks import graph as walk_graph
from walks.engine import WalkEngine
from walks.graph import WalkGraph
from walks.live import LiveWalks
from walks.overlay import SAVE, Delta
from walks.publish import POINTER, PREFIX, Manifest, PublishedSnapshots, SnapshotMismatch
from walks.snapshots import load_or_build

PINS = [f"01J000000000000000000P{n:04d}" for n in range(20)]
BOARDS = [f"01J000000000000000000B{n:04d}" for n in range(4)]
NEW_PIN = "01J000000000000000000P9999"


@pytest.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str
) -> AsyncIterator[ImageStore]:
    if request.param == "local":
        yield await open_image_store(f"file://{tmp_path / 'shared'}", tmp_path / "shared")
    else:
        bucket = f"walks-{uuid.uuid4().hex[:10]}"
        yield await open_image_store(f"s3+http://test:secret@{s3_endpoint}/{bucket}", tmp_path)


def snapshot(edges: int, stream_id: str = "0-0") -> WalkGraph:
    pins = np.arange(edges) % len(PINS)
    boards = np.arange(edges) % len(BOARDS)
    built = walk_graph.build(PINS, BOARDS, pins, boards, [[]] * 4, ["en"] * 4)
    return replace(built, stream_id=stream_id)


def saved(directory: Path, edges: int = 20, stream_id: str = "0-0") -> Path:
    return walk_graph.save(snapshot(edges, stream_id), directory)


def files_of(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir()}


async def test_a_published_snapshot_is_pulled_into_another_directory(
    store: ImageStore, tmp_path: Path
) -> None:
    built = saved(tmp_path / "a")
    transfers: dict[str, tuple[int, int]] = {}

    def progress(what: str, done: int, total: int) -> None:
        transfers[what] = (done, total)

    publisher = PublishedSnapshots(store, tmp_path / "a", progress=progress)
    manifest = await publisher.publish(built)
    assert manifest is not None
    assert manifest.version == built.name
    pointer = json.loads(await store.get(POINTER))
    assert pointer["version"] == built.name
    assert pointer["files"][-1]["name"] == "meta.json"  # read last, like a local save writes it
    assert sum(f["size"] for f in pointer["files"]) == pointer["bytes"] == manifest.size

    reader = PublishedSnapshots(store, tmp_path / "b", progress=progress)
    pulled = await reader.pull()
    assert pulled == tmp_path / "b" / built.name
    assert files_of(pulled) == files_of(built)
    assert walk_graph.load(pulled).edges == 20
    assert transfers == {
        f"uploading {built.name}": (manifest.size, manifest.size),
        f"downloading {built.name}": (manifest.size, manifest.size),
    }
    assert [p.name for p in (tmp_path / "b").iterdir()] == [built.name]  # no partial left
    assert await reader.pull(newer_than=built.name) is None  # nothing newer


async def test_a_snapshot_older_than_the_published_one_is_not_published(
    store: ImageStore, tmp_path: Path
) -> None:
    older, newer = saved(tmp_path / "a"), saved(tmp_path / "b")
    assert await PublishedSnapshots(store, tmp_path / "b").publish(newer) is not None
    assert await PublishedSnapshots(store, tmp_path / "a").publish(older) is None
    assert await PublishedSnapshots(store, tmp_path / "a").try_latest_version() == newer.name
    assert not [o for o in await store.list(PREFIX) if older.name in o.key]


async def test_old_versions_are_pruned(store: ImageStore, tmp_path: Path) -> None:
    shelf = PublishedSnapshots(store, tmp_path / "a", keep=2)
    versions = [saved(tmp_path / "a").name for _ in range(4)]
    for version in versions:
        await shelf.publish(tmp_path / "a" / version)
    stored = {o.key.split("/")[1] for o in await store.list(PREFIX) if o.key.count("/") == 2}
    assert stored == set(versions[-2:])


async def test_a_corrupt_download_is_refused_and_leaves_nothing(
    store: ImageStore, tmp_path: Path
) -> None:
    built = saved(tmp_path / "a")
    await PublishedSnapshots(store, tmp_path / "a").publish(built)
    key = f"{PREFIX}{built.name}/pin_boards.npy"
    damaged = bytearray(await store.get(key))
    damaged[-1] ^= 0xFF  # same size, other bytes
    await store.put(key, bytes(damaged), "application/octet-stream")
    reader = PublishedSnapshots(store, tmp_path / "b")
    with pytest.raises(SnapshotMismatch, match=r"pin_boards\.npy"):
        await reader.pull()
    assert await reader.try_pull() is None  # logged, not raised: the server keeps its graph
    assert not list((tmp_path / "b").iterdir())


async def test_a_pointer_to_a_pruned_version_or_garbage_is_survived(
    store: ImageStore, tmp_path: Path
) -> None:
    built = saved(tmp_path / "a")
    shelf = PublishedSnapshots(store, tmp_path / "a")
    await shelf.publish(built)
    for stored in await store.list(f"{PREFIX}{built.name}/"):
        await store.delete(stored.key)
    assert await PublishedSnapshots(store, tmp_path / "b").try_pull() is None
    await store.put(POINTER, b'{"format": 1, "version": "../../etc"}', "application/json")
    with pytest.raises(ValueError, match="not a walk snapshot pointer"):
        await shelf.latest()
    assert await shelf.try_latest_version() == ""
    newer = saved(tmp_path / "a")
    assert await shelf.publish(newer) is not None  # an unreadable pointer is replaced
    latest = await shelf.latest()
    assert latest is not None
    assert latest.version == newer.name


def test_partial_directories_a_killed_writer_left_are_cleared(tmp_path: Path) -> None:
    kept = saved(tmp_path)
    stale, fresh = tmp_path / f".{kept.name}.dead.partial", tmp_path / f".{kept.name}.live.partial"
    for partial in (stale, fresh):
        partial.mkdir()
        (partial / "meta.json").write_text("{}")  # complete-looking, still not a snapshot
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert walk_graph.newest(tmp_path) == kept
    walk_graph.prune_old(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept.name, fresh.name])


def test_manifests_refuse_names_that_could_escape_the_directory() -> None:
    file = {"name": "../x.npy", "size": 1, "sha256": "0" * 64}
    data = json.dumps({"format": 1, "version": "01J0000000000000000000P000", "files": [file]})
    with pytest.raises(ValueError, match="file name"):
        Manifest.from_json(data.encode())


async def test_a_server_starts_on_the_published_snapshot_instead_of_building(
    services: Services, store: ImageStore, tmp_path: Path
) -> None:
    saved(tmp_path / "b", edges=10)  # older than the published one
    published = saved(tmp_path / "a", edges=30)
    await PublishedSnapshots(store, tmp_path / "a").publish(published)
    shelf = PublishedSnapshots(store, tmp_path / "b")
    engine = await load_or_build(services.graph, services.walk_deltas, tmp_path / "b", shelf=shelf)
    try:
        assert engine.graph.version == published.name
        assert engine.graph.edges == 30
    finally:
        engine.close()


async def test_a_server_whose_download_fails_starts_on_its_local_snapshot(
    services: Services, store: ImageStore, tmp_path: Path
) -> None:
    local = saved(tmp_path / "b", edges=10)
    published = saved(tmp_path / "a", edges=30)
    await PublishedSnapshots(store, tmp_path / "a").publish(published)
    await store.delete(f"{PREFIX}{published.name}/board_ptr.npy")  # gone from the store
    shelf = PublishedSnapshots(store, tmp_path / "b")
    engine = await load_or_build(services.graph, services.walk_deltas, tmp_path / "b", shelf=shelf)
    try:
        assert engine.graph.version == local.name
    finally:
        engine.close()
    assert [p.name for p in (tmp_path / "b").iterdir()] == [local.name]


async def test_a_server_builds_and_publishes_when_nothing_is_published(
    services: Services, store: ImageStore, tmp_path: Path
) -> None:
    shelf = PublishedSnapshots(store, tmp_path / "a")
    engine = await load_or_build(services.graph, services.walk_deltas, tmp_path / "a", shelf=shelf)
    try:
        assert await shelf.try_latest_version() == engine.graph.version
    finally:
        engine.close()


async def test_replicas_compact_once_and_serve_the_same_published_version(
    services: Services, store: ImageStore, tmp_path: Path
) -> None:
    position = await services.walk_deltas.position()
    first = saved(tmp_path / "a", stream_id=position)
    await PublishedSnapshots(store, tmp_path / "a").publish(first)

    async def replica(name: str) -> LiveWalks:
        shelf = PublishedSnapshots(store, tmp_path / name)
        path = await shelf.pull() or tmp_path / name / first.name
        return LiveWalks(
            WalkEngine(walk_graph.load(path), threads=1), services.walk_deltas, services.graph,
            tmp_path / name, poll_ms=20, snapshot_check_s=0.05, compact_after=1, shelf=shelf,
        )  # fmt: skip

    replicas = [await replica("a"), await replica("b")]
    await services.walk_deltas.append(Delta(SAVE, NEW_PIN, BOARDS[0]))
    tasks = [asyncio.create_task(live.run()) for live in replicas]

    def versions() -> set[str]:
        return {live.engine.graph.version for live in replicas}

    give_up = asyncio.get_running_loop().time() + 20
    try:
        while versions() == {first.name} or len(versions()) > 1:
            assert asyncio.get_running_loop().time() < give_up, f"not one version: {versions()}"
            await asyncio.sleep(0.02)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    [compacted] = versions()
    assert await PublishedSnapshots(store, tmp_path / "c").try_latest_version() == compacted
    published = {o.key.split("/")[1] for o in await store.list(PREFIX) if o.key.count("/") == 2}
    assert published == {first.name, compacted}  # one compaction, not one per replica
    for live in replicas:
        assert live.engine.graph.pin_index([NEW_PIN])[1] == []  # the delta is in it
        assert (live.directory / compacted / "meta.json").is_file()
