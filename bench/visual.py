"""Visual search benchmark: embedding throughput, search latency, ANN recall, near-duplicates.

    .venv/bin/python bench/visual.py            # full sizes (several minutes)
    .venv/bin/python bench/visual.py --quick    # small sizes, to check it runs; not saved
    .venv/bin/python bench/visual.py --only ann duplicates [--pins 50000]

Four parts, each bounded in work and in time (every timed loop also stops after 120 s, 20 s
in quick mode). Everything listens on 127.0.0.1 and lives in temporary directories.

1. throughput: EfficientNet-Lite0 (visual/model.py, every core: `threads=0` as the server
   runs it) on distinct 600-800 px JPEGs made from the scikit-image photos with the
   near-duplicate transforms. End to end (JPEG bytes -> decode -> to_input -> model):
   (a) one image at a time, (b) two at a time (two threads, batch 1 each, one shared
   session), (c) batched: 32 concurrent callers, each decoding in a thread and handing its
   input to the Batcher (batches of up to 16). Also the model alone at batch 1 and 16.
2. search: `pingraph serve --demo` (its pictures are those photos, indexed at start-up).
   `searchByImage(imageKey, first: 25)` for image keys of demo pins (stored and indexed:
   the embedding is read, not computed) and `Pin.visuallySimilar(first: 25)`, signed in
   (never served from the answer cache), from 1 and 4 concurrent httpx clients.
3. ann: a scratch graph in an embedded FalkorDB (temporary directory). N pins on one public
   board with (i) clustered embeddings: real embeddings of augmented photo crops, plus
   synthetic neighbours (a real one plus Gaussian noise, renormalised, at cosine distance
   0.04-0.26 from it: the spread of near-duplicates and crops of one photo), and (ii) uniform
   random unit vectors, the hard case. Queries are 100 more vectors made the same way, not
   stored. For each efRuntime the vector index is dropped and re-created with migration
   0007's options but that efRuntime, and used once it is OPERATIONAL; then recall@10
   against exact numpy search, of the index alone (`db.idx.vector.queryNodes`, k = 10) and
   of `VisualRepo.nearest(first=10)` (the path the API takes: it asks the index for 60
   candidates, then checks visibility), with one client's latency p50/p99.
   Vectors are sent rounded to 7 decimals (the load takes half the time; the exact search
   uses the same rounded vectors).
4. duplicates: near-duplicate recall. Originals are random crops (40-100% of each side, at
   random places, scaled to 600-800 px) of the 20 photos, so many overlap: hard distractors.
   Each is a pin (VisualRepo.set_embeddings, migration 0007's index). Each of the five
   NEAR_DUPLICATES kinds (visual/augment.py) makes a copy of every original; the copy is
   embedded (JPEG bytes, decode, to_input, model: what the service does, minus its WebP
   MEDIUM rendition) and searched with VisualRepo.nearest. recall@1: the top hit is its
   own original.

Prints a table per part, with the CPU other processes used meanwhile (a shared machine), and
saves bench/results/visual.json with the machine's details (not in quick mode).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# numpy's exact search on one core, as one FalkorDB query runs (set before numpy loads).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # see bench/common.py
import common

# The project's visual/ has no __init__.py: as a namespace package it loses to any module
# named visual.py on the path, and this file is one. bench/ leaves the path once common is in.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]

import argparse
import asyncio
import contextlib
import io
import platform
import random
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import numpy as np
import onnxruntime
import PIL
import psutil  # type: ignore[import-untyped]
import redis
from falkordb.helpers import stringify_param_value
from PIL import Image

from domain.identity import Role
from graph.backends.base import Dialect, GraphBackend
from graph.backends.connect import open_backend
from graph.demo import seed
from graph.migrate import load as load_migrations
from graph.migrate import migrate
from graph.repos.visual import CANDIDATE_SLACK, CANDIDATES_PER_RESULT, VisualRepo
from media.photos import PHOTOS, load_photo
from server.auth import issue_token
from server.embedded import EmbeddedServices, Endpoints
from visual.augment import NEAR_DUPLICATES, crop
from visual.batcher import MAX_BATCH, Batcher
from visual.model import Embedder
from visual.preprocess import decode, to_input

PARTS = ("throughput", "search", "ann", "duplicates")


@dataclass(frozen=True)
class Sizes:
    images: int = 64  # distinct JPEGs for the throughput runs
    rounds: int = 3  # passes over them in the two-at-a-time and batched runs
    model_runs: int = 64  # model-only runs at batch 1 (batch 16: an eighth as many)
    callers: int = 32  # concurrent callers of the Batcher
    requests: int = 400  # per scenario and client count, through the server
    pins: int = 20_000  # stored vectors per ANN data set
    seeds: int = 320  # real embeddings behind the clustered set
    queries: int = 100  # ANN queries
    ef_runtimes: tuple[int, ...] = (10, 100, 400)
    originals: int = 200  # near-duplicate originals
    limit_s: float = 120  # any one timed loop stops after this


QUICK = Sizes(
    images=24,
    rounds=1,
    model_runs=8,
    requests=40,
    pins=2_000,
    seeds=60,
    queries=30,
    originals=20,
    limit_s=20,
)


# ---------------------------------------------------------------------------- images


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def scaled(image: Image.Image, rng: random.Random) -> Image.Image:
    """The image 600-800 px wide, its shape kept (an ordinary upload's size)."""
    width = rng.randint(600, 800)
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def random_crop(photo: Image.Image, rng: random.Random) -> Image.Image:
    """A window 40-100% of each side of the photo, at a random place."""
    return crop(photo, rng.uniform(0.4, 1.0), rng=rng)


def augmented(photo: Image.Image, rng: random.Random) -> Image.Image:
    """A random crop of the photo, then one of the near-duplicate transforms."""
    kind = rng.choice(list(NEAR_DUPLICATES.values()))
    return kind(random_crop(photo, rng), rng)


def photos() -> list[Image.Image]:
    return [load_photo(name) for name in PHOTOS]


def sample_jpegs(count: int, rng: random.Random) -> list[bytes]:
    """`count` distinct 600-800 px JPEGs (quality 85), cycling through the photos."""
    pictures = photos()
    return [jpeg(scaled(augmented(pictures[i % len(pictures)], rng), rng)) for i in range(count)]


def whole_input(data: bytes) -> np.ndarray:
    """The model input for JPEG bytes, as the service makes it for a whole image."""
    return to_input(decode(data))


def embed_all(embedder: Embedder, inputs: list[np.ndarray]) -> np.ndarray:
    """Embeddings (N, 1280) of model inputs, in batches of 16."""
    batches = [np.stack(inputs[i : i + MAX_BATCH]) for i in range(0, len(inputs), MAX_BATCH)]
    return np.concatenate([embedder.embed(batch) for batch in batches])


# ---------------------------------------------------------------------------- 1. throughput


class CountingEmbedder(Embedder):
    """An Embedder that records the size of every batch it runs."""

    def __init__(self, model_dir: Path) -> None:
        super().__init__(model_dir, threads=0)
        self.batches: list[int] = []

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        self.batches.append(len(inputs))
        return super().embed(inputs)


def rate(images: int, seconds: float) -> float:
    return round(images / seconds, 1) if seconds > 0 else 0.0


def model_only(
    embedder: Embedder, inputs: list[np.ndarray], batch: int, runs: int, limit_s: float
) -> dict[str, Any]:
    """The model alone on the same (batch, 3, 224, 224) input, `runs` times at most."""
    batch_input = np.stack([inputs[i % len(inputs)] for i in range(batch)])
    embedder.embed(batch_input)  # warm-up
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < runs and time.perf_counter() - started < limit_s:
        begun = time.perf_counter()
        embedder.embed(batch_input)
        samples.append((time.perf_counter() - begun) * 1000)
    wall = time.perf_counter() - started
    return {
        "batch": batch,
        "images_per_s": rate(batch * len(samples), wall),
        "run": common.distribution(samples),
    }


def end_to_end(embedder: Embedder, data: bytes) -> float:
    """Decode, preprocess and embed one image alone; its time in ms."""
    started = time.perf_counter()
    embedder.embed(whole_input(data)[None])
    return (time.perf_counter() - started) * 1000


def at_a_time(
    embedder: Embedder, images: list[bytes], parallel: int, limit_s: float
) -> dict[str, Any]:
    """`parallel` threads each embedding one image at a time (batch 1) until `images` are
    done or the time is up."""
    queue = iter(images)
    deadline = time.perf_counter() + limit_s
    samples: list[float] = []

    def worker() -> None:
        while time.perf_counter() < deadline and (data := next(queue, None)) is not None:
            samples.append(end_to_end(embedder, data))

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        for future in [pool.submit(worker) for _ in range(parallel)]:
            future.result()
    wall = time.perf_counter() - started
    return {
        "parallel": parallel,
        "images_per_s": rate(len(samples), wall),
        "image": common.distribution(samples),
    }


async def batched(
    embedder: CountingEmbedder, images: list[bytes], callers: int, limit_s: float
) -> dict[str, Any]:
    """`callers` concurrent callers, each decoding its image in a thread and handing the
    input to the Batcher, which runs the model on up to 16 waiting inputs at once."""
    batcher = Batcher(embedder)
    queue = iter(images)
    deadline = time.perf_counter() + limit_s
    samples: list[float] = []

    async def caller() -> None:
        while time.perf_counter() < deadline and (data := next(queue, None)) is not None:
            begun = time.perf_counter()
            await batcher.embed(await asyncio.to_thread(whole_input, data))
            samples.append((time.perf_counter() - begun) * 1000)

    embedder.batches.clear()
    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    wall = time.perf_counter() - started
    sizes = embedder.batches
    return {
        "callers": callers,
        "images_per_s": rate(len(samples), wall),
        "image": common.distribution(samples),
        "model_runs": len(sizes),
        "mean_batch": round(float(np.mean(sizes)), 1) if sizes else 0,
    }


def preprocessing(images: list[bytes], limit_s: float) -> dict[str, Any]:
    """Decode and to_input alone, one thread: the part the model does not do."""
    samples: list[float] = []
    started = time.perf_counter()
    for data in images:
        if time.perf_counter() - started > limit_s:
            break
        begun = time.perf_counter()
        whole_input(data)
        samples.append((time.perf_counter() - begun) * 1000)
    return {
        "images_per_s": rate(len(samples), time.perf_counter() - started),
        "image": common.distribution(samples),
    }


def throughput(model_dir: Path, sizes: Sizes) -> dict[str, Any]:
    rng = random.Random(1)
    images = sample_jpegs(sizes.images, rng)
    embedder = CountingEmbedder(model_dir)
    embedder.load()
    inputs = [whole_input(data) for data in images[:MAX_BATCH]]
    embedder.embed(inputs[0][None])  # warm-up
    repeated = images * sizes.rounds
    return {
        "images": {"distinct": len(images), "mean_bytes": int(np.mean([len(d) for d in images]))},
        "preprocess_only": preprocessing(images, sizes.limit_s),
        "model_batch_1": model_only(embedder, inputs, 1, sizes.model_runs, sizes.limit_s),
        "model_batch_16": model_only(
            embedder, inputs, MAX_BATCH, max(2, sizes.model_runs // 8), sizes.limit_s
        ),
        "one_at_a_time": at_a_time(embedder, images, 1, sizes.limit_s),
        "two_at_a_time": at_a_time(embedder, repeated, 2, sizes.limit_s),
        "batched": asyncio.run(batched(embedder, repeated, sizes.callers, sizes.limit_s)),
    }


# ---------------------------------------------------------------------------- 2. search

SEARCH = """
query Search($key: ID!) {
  searchByImage(imageKey: $key, first: 25) { distance pin { id title } }
}
"""
SIMILAR = "query Similar($id: ID!) { pin(id: $id) { visuallySimilar(first: 25) { id title } } }"
PIN_IMAGE = "query Image($id: ID!) { pin(id: $id) { id image { url } } }"
MEDIA_URL = re.compile(r"/media/([0-9a-f]{64})/")

Payload = Callable[[random.Random], dict[str, Any]]


async def demo_targets(
    http: httpx.AsyncClient, graph: seed.SeedGraph, count: int
) -> tuple[list[str], list[str]]:
    """Image keys of demo pins (stored and indexed at start-up) and pins with an image, read
    from the pins' image URLs; the pins come from the generator the server seeded with."""
    public = {board["id"] for board in graph.boards if board["privacy"] == "PUBLIC"}
    pins = sorted({save["pin"] for save in graph.saves if save["board"] in public})
    random.Random(2).shuffle(pins)
    keys: dict[str, str] = {}  # key -> a pin showing it
    for pin_id in pins[: count * 10]:
        answer = (
            await http.post("/graphql", json={"query": PIN_IMAGE, "variables": {"id": pin_id}})
        ).json()
        image = (answer.get("data") or {}).get("pin", {}) or {}
        found = MEDIA_URL.search((image.get("image") or {}).get("url", ""))
        if found:
            keys.setdefault(found[1], pin_id)
        if len(keys) >= count:
            break
    return list(keys), list(keys.values())


def problem_with(response: httpx.Response) -> str | None:
    body = response.json() if response.status_code == 200 else {}
    if response.status_code != 200 or body.get("errors") or not body.get("data"):
        return f"{response.status_code} {response.text[:300]}"
    return None


async def closed_load(
    http: httpx.AsyncClient,
    payload: Payload,
    headers: dict[str, str],
    *,
    clients: int,
    count: int,
    limit_s: float,
) -> dict[str, Any]:
    """`clients` concurrent clients, each sending its next request when the last is answered,
    `count` requests in all or until `limit_s` has passed (after 5 unmeasured per client)."""
    for number in range(clients):
        for _ in range(5):
            await http.post("/graphql", json=payload(random.Random(number)), headers=headers)
    samples: list[float] = []
    errors: list[str] = []
    left = count
    deadline = time.perf_counter() + limit_s

    async def client(number: int) -> None:
        nonlocal left
        rng = random.Random(100 + number)
        while left > 0 and time.perf_counter() < deadline:
            left -= 1
            begun = time.perf_counter()
            response = await http.post("/graphql", json=payload(rng), headers=headers)
            elapsed = (time.perf_counter() - begun) * 1000
            if (problem := problem_with(response)) is None:
                samples.append(elapsed)
            else:
                errors.append(problem)

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests_per_s": rate(len(samples), wall),
        **common.distribution(samples),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


async def self_found_first(
    http: httpx.AsyncClient, keys: list[str], headers: dict[str, str]
) -> float:
    """Fraction of the keys whose search answers a pin at distance ~0 first (a sanity check:
    a stored image finds a pin showing it)."""
    hits = 0
    for key in keys:
        body = (
            await http.post(
                "/graphql", json={"query": SEARCH, "variables": {"key": key}}, headers=headers
            )
        ).json()
        found = body["data"]["searchByImage"]
        hits += bool(found) and found[0]["distance"] < 1e-3
    return round(hits / len(keys), 3)


async def latencies(call: Callable[[Any], Awaitable[Any]], items: list[Any]) -> dict[str, Any]:
    """`call(item)` for each item, one at a time, after 3 unmeasured: its latency."""
    for item in items[:3]:
        await call(item)
    samples = []
    for item in items:
        begun = time.perf_counter()
        await call(item)
        samples.append((time.perf_counter() - begun) * 1000)
    return common.distribution(samples)


async def graph_breakdown(data_dir: Path, pins: list[str]) -> dict[str, Any]:
    """The graph store's share of a search, on the server's own store, one at a time: the
    index query the repository sends for first: 25, and the whole of `nearest(25)` (that
    query, then the candidates' visibility check)."""
    url = common.embedded_urls(data_dir)["PINGRAPH_GRAPH_URL"]
    backend = await open_backend(url)
    candidates = CANDIDATES_PER_RESULT * 25 + CANDIDATE_SLACK
    try:
        repo = VisualRepo(backend)
        vectors = [vector for pin in pins if (vector := await repo.embedding_of(pin))]

        async def index_query(vector: list[float]) -> None:
            await backend.read(QUERY_NODES, {"k": candidates, "vector": vector})

        async def nearest(vector: list[float]) -> None:
            await repo.nearest(vector, 25)

        return {
            "candidates": candidates,
            "index_query": await latencies(index_query, vectors),
            "repo_nearest_25": await latencies(nearest, vectors),
        }
    finally:
        await backend.close()


async def search_load(port: int, data_dir: Path, sizes: Sizes) -> dict[str, Any]:
    graph = seed.generate(seed.Sizes.small())  # what the server loaded
    token = issue_token(common.SECRET, graph.users[0]["id"], [Role.USER], 3600)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits
    ) as http:
        keys, pins = await demo_targets(http, graph, 40)

        def by_image(rng: random.Random) -> dict[str, Any]:
            return {"query": SEARCH, "variables": {"key": rng.choice(keys)}}

        def similar(rng: random.Random) -> dict[str, Any]:
            return {"query": SIMILAR, "variables": {"id": rng.choice(pins)}}

        result: dict[str, Any] = {
            "image_keys": len(keys),
            "pins": len(pins),
            "self_found_first": await self_found_first(http, keys, headers),
        }
        for name, payload in (("searchByImage", by_image), ("visuallySimilar", similar)):
            for clients in (1, 4):
                result[f"{name}@{clients}"] = await closed_load(
                    http,
                    payload,
                    headers,
                    clients=clients,
                    count=sizes.requests,
                    limit_s=sizes.limit_s,
                )
    result["graph_breakdown"] = await graph_breakdown(data_dir, pins)
    return result


def search(model_dir: Path, sizes: Sizes) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pingraph-bench-") as tmp:
        started = time.perf_counter()
        port = common.free_port()
        log = Path(tmp) / "server.log"
        env = {"PINGRAPH_VISUAL_MODEL_DIR": str(model_dir)}
        server = common.start_server(Path(tmp) / "data", port, env=env, log=log)
        ready_s = round(time.perf_counter() - started, 1)
        try:
            result = asyncio.run(search_load(port, Path(tmp) / "data", sizes))
        finally:
            common.stop_server(server)
        warnings = [line for line in log.read_text().splitlines() if "error" in line.lower()]
    return {"server_ready_s": ready_s, **result, "server_errors": warnings[:5]}


# ---------------------------------------------------------------------------- scratch graph

OWNER_AND_BOARD = """
CREATE (u:User {id: 'bench-owner', handle: 'bench-owner'})
CREATE (b:Board {id: 'bench-board', name: 'bench', privacy: 'PUBLIC'})
CREATE (u)-[:OWNS]->(b)
"""
PINS = """
MATCH (b:Board {id: 'bench-board'})
UNWIND $ids AS id
CREATE (p:Pin {id: id, creatorId: 'bench-owner', title: id})
CREATE (p)-[:SAVED_TO {at: 0, by: 'bench-owner'}]->(b)
"""
ROUNDED_EMBEDDINGS = """
UNWIND $items AS item
MATCH (p:Pin {id: item.id})
SET p.embedding = vecf32(item.vector)
"""
QUERY_NODES = """
CALL db.idx.vector.queryNodes('Pin', 'embedding', $k, vecf32($vector)) YIELD node
RETURN node.id AS id
"""
INDEX_STATUS = "CALL db.indexes() YIELD label, status RETURN label, status"
DROP_INDEX = "DROP VECTOR INDEX FOR (p:Pin) ON (p.embedding)"
VECTOR_ONLY = "WITH vecf32($vector) AS v RETURN v IS NULL AS n"
CHUNK = 250


def migration_index() -> str:
    """Migration 0007's CREATE VECTOR INDEX statement."""
    (migration,) = [m for m in load_migrations(Dialect.FALKORDB) if m.version == 7]
    (statement,) = [s for s in migration.statements if "VECTOR INDEX" in s]
    return statement


def with_ef_runtime(statement: str, ef: int) -> str:
    return re.sub(r"efRuntime: \d+", f"efRuntime: {ef}", statement)


def migration_ef_runtime() -> int:
    found = re.search(r"efRuntime: (\d+)", migration_index())
    assert found, "migration 0007 sets no efRuntime"
    return int(found[1])


@dataclass
class Scratch:
    """A graph of the embedded FalkorDB, and the same graph on its analysts' replica (which
    repeats every write and index build: measurements wait until it is idle too)."""

    endpoints: Endpoints
    primary: GraphBackend
    replica: GraphBackend

    async def close(self) -> None:
        await self.primary.close()
        await self.replica.close()


async def scratch_graph(endpoints: Endpoints, name: str, pin_ids: list[str]) -> Scratch:
    """A migrated graph `name` (0007's vector index included) holding one user, one public
    board and the pins, without embeddings."""
    primary = await open_backend(endpoints.graph_url, database=name, timeout_ms=600_000)
    replica = await open_backend(endpoints.analyst_graph_url, database=name, timeout_ms=600_000)
    await migrate(primary)
    await primary.write(OWNER_AND_BOARD)
    for start in range(0, len(pin_ids), 5_000):
        await primary.write(PINS, {"ids": pin_ids[start : start + 5_000]})
    return Scratch(endpoints, primary, replica)


def replica_caught_up(endpoints: Endpoints, limit_s: float = 600) -> None:
    """Block until the replica has applied every write so far (Redis WAIT)."""
    client = redis.Redis(port=endpoints.graph_port, password=endpoints.password)
    try:
        acknowledged = client.execute_command("WAIT", 1, int(limit_s * 1000))  # type: ignore[no-untyped-call]
    finally:
        client.close()
    if acknowledged < 1:
        raise SystemExit(f"the replica did not catch up within {limit_s} s")


async def indexes_ready(backend: GraphBackend, limit_s: float) -> None:
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        rows = await backend.read(INDEX_STATUS)
        if all(row["status"] == "OPERATIONAL" for row in rows if row["label"] == "Pin"):
            return
        await asyncio.sleep(0.1)
    raise SystemExit(f"the vector index was not usable within {limit_s} s")


async def settled(scratch: Scratch, limit_s: float = 900) -> float:
    """Seconds until the replica has every write and every index of Pin says OPERATIONAL on
    both stores (a vector index builds in the background after CREATE)."""
    started = time.perf_counter()
    await asyncio.to_thread(replica_caught_up, scratch.endpoints)
    await indexes_ready(scratch.primary, limit_s)
    built = time.perf_counter() - started
    await indexes_ready(scratch.replica, limit_s)
    return built


def as_sent(vectors: np.ndarray) -> np.ndarray:
    """Vectors rounded to 7 decimals, as sent to the store, renormalised (float32)."""
    rounded = np.round(vectors.astype(np.float64), 7)
    return unit(rounded).astype(np.float32)


async def store_rounded(backend: GraphBackend, ids: list[str], vectors: np.ndarray) -> float:
    """Store embeddings rounded to 7 decimals (half the text to send and parse); seconds."""
    started = time.perf_counter()
    rounded = np.round(vectors.astype(np.float64), 7)
    for start in range(0, len(ids), CHUNK):
        items = [
            {"id": pin_id, "vector": rounded[start + i].tolist()}
            for i, pin_id in enumerate(ids[start : start + CHUNK])
        ]
        await backend.write(ROUNDED_EMBEDDINGS, {"items": items})
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- 3. ANN


def unit(vectors: np.ndarray) -> np.ndarray:
    normalised: np.ndarray = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    return normalised


def real_embeddings(embedder: Embedder, count: int, rng: random.Random) -> np.ndarray:
    """Embeddings of `count` augmented crops of the photos (JPEG round trip included)."""
    pictures = photos()
    inputs = [
        whole_input(jpeg(augmented(pictures[i % len(pictures)], rng), 90)) for i in range(count)
    ]
    return embed_all(embedder, inputs)


def neighbours(seeds: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` vectors, each a random seed plus Gaussian noise of norm 0.3-0.9, renormalised:
    cosine distance 0.04-0.26 from its seed."""
    chosen = seeds[rng.integers(0, len(seeds), count)]
    strength = rng.uniform(0.3, 0.9, (count, 1)) / np.sqrt(seeds.shape[1])
    return unit(chosen + rng.standard_normal(chosen.shape) * strength).astype(np.float32)


def random_units(count: int, rng: np.random.Generator) -> np.ndarray:
    return unit(rng.standard_normal((count, 1280))).astype(np.float32)


def exact_top(
    stored: np.ndarray, queries: np.ndarray, k: int = 10
) -> tuple[list[set[int]], list[float]]:
    """Exact top-k by cosine (rows are unit vectors) per query, and each search's time in ms."""
    tops, samples = [], []
    for query in queries:
        begun = time.perf_counter()
        scores = stored @ query
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        samples.append((time.perf_counter() - begun) * 1000)
        tops.append(set(top.tolist()))
    return tops, samples


async def timed_searches(
    search_one: Callable[[np.ndarray], Any], queries: np.ndarray, exact: list[set[str]]
) -> dict[str, Any]:
    """recall@10 and latency of `search_one(query) -> ids`, one query at a time."""
    for query in queries[:5]:
        await search_one(query)  # warm-up
    hits, samples = 0, []
    for query, truth in zip(queries, exact, strict=True):
        begun = time.perf_counter()
        found = await search_one(query)
        samples.append((time.perf_counter() - begun) * 1000)
        hits += len(truth & set(found[:10]))
    return {"recall_at_10": round(hits / (10 * len(queries)), 3), **common.distribution(samples)}


async def measure_ef(
    scratch: Scratch, queries: np.ndarray, exact: list[set[str]], ef: int
) -> dict[str, Any]:
    """Create the vector index with this efRuntime, wait for it, search, then drop it."""
    backend = scratch.primary
    await backend.ddl(with_ef_runtime(migration_index(), ef))
    build_s = await settled(scratch)
    repo = VisualRepo(backend)

    async def index_alone(query: np.ndarray) -> list[str]:
        rows = await backend.read(QUERY_NODES, {"k": 10, "vector": query.tolist()})
        return [row["id"] for row in rows]

    async def through_repo(query: np.ndarray) -> list[str]:
        return [pin_id for pin_id, _ in await repo.nearest(query, 10)]

    found = {
        "ef_runtime": ef,
        "index_build_s": round(build_s, 1),
        "index_k10": await timed_searches(index_alone, queries, exact),
        "repo_nearest_10": await timed_searches(through_repo, queries, exact),
    }
    await backend.ddl(DROP_INDEX)
    return found


async def vector_round_trip(backend: GraphBackend, queries: np.ndarray) -> dict[str, Any]:
    """A query that carries a vector and searches nothing: what sending it costs."""

    async def carry(query: np.ndarray) -> None:
        await backend.read(VECTOR_ONLY, {"vector": query.tolist()})

    return await latencies(carry, list(queries))


async def ann_dataset(
    endpoints: Endpoints, name: str, stored: np.ndarray, queries: np.ndarray, sizes: Sizes
) -> dict[str, Any]:
    ids = [f"{name}-{i:06d}" for i in range(len(stored))]
    scratch = await scratch_graph(endpoints, f"bench-{name}", ids)
    try:
        await scratch.primary.ddl(DROP_INDEX)  # loaded without it, built at each efRuntime
        load_s = await store_rounded(scratch.primary, ids, stored)
        await settled(scratch)
        tops, exact_ms = exact_top(as_sent(stored), queries)
        exact = [{ids[i] for i in top} for top in tops]
        carried = await vector_round_trip(scratch.primary, queries)
        per_ef = [await measure_ef(scratch, queries, exact, ef) for ef in sizes.ef_runtimes]
    finally:
        await scratch.close()
    return {
        "pins": len(ids),
        "queries": len(queries),
        "load_s": round(load_s, 1),
        "exact_numpy": common.distribution(exact_ms),
        "vector_round_trip": carried,
        "ef": per_ef,
    }


def param_text_ms(vector: np.ndarray, runs: int = 50) -> float:
    """Client time to write one query vector as Cypher parameter text (every search does)."""
    values = vector.astype(np.float64).tolist()
    started = time.perf_counter()
    for _ in range(runs):
        stringify_param_value(values)
    return round((time.perf_counter() - started) * 1000 / runs, 2)


async def ann(endpoints: Endpoints, embedder: Embedder, sizes: Sizes) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    seeds = real_embeddings(embedder, sizes.seeds, random.Random(7))
    clustered = np.concatenate([seeds, neighbours(seeds, sizes.pins - len(seeds), rng)])
    datasets = {
        "clustered": (clustered, neighbours(seeds, sizes.queries, rng)),
        "random": (random_units(sizes.pins, rng), random_units(sizes.queries, rng)),
    }
    found: dict[str, Any] = {
        "migration_0007_ef_runtime": migration_ef_runtime(),
        "real_seed_embeddings": len(seeds),
        "query_vector_as_text_ms": param_text_ms(seeds[0]),
    }
    for name, (stored, queries) in datasets.items():
        print(f"  ann: {name}, {len(stored):,} vectors", flush=True)
        found[name] = await ann_dataset(endpoints, name, stored, queries, sizes)
    return found


# ---------------------------------------------------------------------------- 4. duplicates


TILE_SIDE = 160  # tiles at least this many pixels a side


def tiles(photo: Image.Image) -> list[Image.Image]:
    """The photo cut into a grid of non-overlapping tiles (up to 3x3, at least TILE_SIDE
    pixels a side): distinct pictures that share a photo's colours and texture."""
    columns = max(1, min(3, photo.width // TILE_SIDE))
    rows = max(1, min(3, photo.height // TILE_SIDE))
    width, height = photo.width // columns, photo.height // rows
    return [photo.crop((c * width, r * height, (c + 1) * width, (r + 1) * height))
            for r in range(rows) for c in range(columns)]  # fmt: skip


def originals_and_copies(
    design: str, count: int, rng: random.Random
) -> tuple[list[Image.Image], list[int], dict[str, list[Image.Image]]]:
    """Originals scaled to 600-800 px, the photo each came from, and each kind of copy of
    every one. "tiles": non-overlapping tiles of the photos (motorcycle_right left out: it
    is motorcycle_left seen from a step aside), so each copy has exactly one original.
    "overlapping": `count` random crops of the photos, which overlap, so a crop of one
    original can be as much a crop of another: a harder set whose answer is ambiguous."""
    pictures = dict(zip(PHOTOS, photos(), strict=True))
    if design == "tiles":
        cut = [(i, tile) for i, name in enumerate(PHOTOS) if name != "motorcycle_right.png"
               for tile in tiles(pictures[name])]  # fmt: skip
    else:
        cut = [(i % len(PHOTOS), random_crop(pictures[PHOTOS[i % len(PHOTOS)]], rng))
               for i in range(count)]  # fmt: skip
    originals = [scaled(image, rng) for _, image in cut]
    copies = {
        kind: [alter(image, rng) for image in originals] for kind, alter in NEAR_DUPLICATES.items()
    }
    return originals, [photo for photo, _ in cut], copies


def embedded_as_uploaded(embedder: Embedder, images: list[Image.Image]) -> np.ndarray:
    """Embeddings of the images after a JPEG round trip (quality 90), as if uploaded."""
    return embed_all(embedder, [whole_input(jpeg(image, 90)) for image in images])


async def searched(
    repo: VisualRepo, ids: list[str], queries: np.ndarray
) -> tuple[list[int | None], list[int]]:
    """For each query (a copy of original i), the rank of its original among the 5 nearest
    pins (None: not among them), and the index of the original found first."""
    ranks: list[int | None] = []
    tops: list[int] = []
    for own, query in zip(ids, queries, strict=True):
        found = [pin_id for pin_id, _ in await repo.nearest(query, 5)]
        ranks.append(found.index(own) + 1 if own in found else None)
        tops.append(ids.index(found[0]))
    return ranks, tops


def kind_figures(
    ranks: list[int | None], tops: list[int], distances: np.ndarray, source: list[int]
) -> dict[str, Any]:
    """recall@1 and @5 of one kind of copy, its distance to the original, and its misses:
    how many, and how many of those found another original cut from the same photo first."""
    misses = [i for i, rank in enumerate(ranks) if rank != 1]
    return {
        "recall_at_1": round(1 - len(misses) / len(ranks), 3),
        "recall_at_5": round(sum(rank is not None for rank in ranks) / len(ranks), 3),
        "distance_to_original_p50": round(float(np.median(distances)), 3),
        "misses": len(misses),
        "misses_on_same_photo": sum(source[i] == source[tops[i]] for i in misses),
    }


async def near_duplicates(endpoints: Endpoints, embedder: Embedder, sizes: Sizes) -> dict[str, Any]:
    return {
        design: await near_duplicate_set(endpoints, embedder, sizes, design)
        for design in ("tiles", "overlapping")
    }


async def near_duplicate_set(
    endpoints: Endpoints, embedder: Embedder, sizes: Sizes, design: str
) -> dict[str, Any]:
    originals, source, copies = originals_and_copies(design, sizes.originals, random.Random(11))
    stored = embedded_as_uploaded(embedder, originals)
    ids = [f"original-{i:04d}" for i in range(len(originals))]
    scratch = await scratch_graph(endpoints, f"bench-duplicates-{design}", ids)
    per_kind: dict[str, Any] = {}
    try:
        repo = VisualRepo(scratch.primary)
        for start in range(0, len(ids), CHUNK):
            chunk = slice(start, start + CHUNK)
            await repo.set_embeddings(list(zip(ids[chunk], stored[chunk], strict=True)))
        await settled(scratch)
        for kind, images in copies.items():
            queries = embedded_as_uploaded(embedder, images)
            ranks, tops = await searched(repo, ids, queries)
            distances = 1 - np.sum(queries * stored, axis=1)
            per_kind[kind] = kind_figures(ranks, tops, distances, source)
    finally:
        await scratch.close()
    overall = float(np.mean([figures["recall_at_1"] for figures in per_kind.values()]))
    return {
        "originals": len(ids),
        "queries": len(ids) * len(per_kind),
        "recall_at_1": round(overall, 3),
        "kinds": per_kind,
    }


# ---------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }


def busy_cpu_s() -> float:
    """CPU seconds every process on the machine has used since boot."""
    times = psutil.cpu_times()
    return float(sum(getattr(times, name, 0.0) for name in
                     ("user", "nice", "system", "irq", "softirq", "steal")))  # fmt: skip


def own_cpu_s() -> float:
    """CPU seconds of this process and every process it started, running or ended."""
    me = psutil.Process()
    total = float(sum(me.cpu_times()[:4]))  # user, system and ended children's
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += float(sum(child.cpu_times()[:4]))
    return total


def run_part(
    part: Callable[[], dict[str, Any]], report: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Run a part and print its table, with how many cores other processes used meanwhile
    (other people's work on a shared machine), which its figures should be read against."""
    started, busy, own = time.perf_counter(), busy_cpu_s(), own_cpu_s()
    result = part()
    others = (busy_cpu_s() - busy) - (own_cpu_s() - own)
    result["other_processes_cores"] = round(max(others, 0.0) / (time.perf_counter() - started), 2)
    report(result)
    print(f"(other processes meanwhile: {result['other_processes_cores']} cores)", flush=True)
    return result


def falkordb_version(endpoints: Endpoints) -> str:
    """The graph module's version, as MODULE LIST reports it (42201 is 4.22.1)."""
    client = redis.Redis(port=endpoints.graph_port, password=endpoints.password)
    try:
        modules = client.execute_command("MODULE", "LIST")  # type: ignore[no-untyped-call]
    finally:
        client.close()
    version = next(int(m[b"ver"]) for m in modules if m[b"name"] == b"graph")
    return f"{version // 10000}.{version // 100 % 100}.{version % 100}"


def print_throughput(result: dict[str, Any]) -> None:
    print(f"\n{'embedding (images/s)':<50} {'images/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    rows = [
        ("decode + preprocess only (one thread)", result["preprocess_only"], "image"),
        ("model only, batch 1", result["model_batch_1"], "run"),
        ("model only, batch 16 (ms per batch)", result["model_batch_16"], "run"),
        ("end to end, one at a time", result["one_at_a_time"], "image"),
        ("end to end, two at a time", result["two_at_a_time"], "image"),
        (
            f"end to end, batched ({result['batched']['callers']} callers, "
            f"mean batch {result['batched']['mean_batch']})",
            result["batched"],
            "image",
        ),
    ]
    for label, figures, per in rows:
        latency = figures[per]
        print(
            f"{label:<50} {figures['images_per_s']:>9} {latency.get('p50_ms', '-'):>8} "
            f"{latency.get('p99_ms', '-'):>8}"
        )


def print_search(result: dict[str, Any]) -> None:
    print(
        f"\nserver ready in {result['server_ready_s']} s; {result['image_keys']} image keys, "
        f"stored image found first: {result['self_found_first']}"
    )
    print(
        f"{'API (first: 25)':<24} {'clients':>7} {'n':>5} {'req/s':>7} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6}"
    )
    for name, figures in result.items():
        if "@" in name:
            print(
                f"{name.split('@')[0]:<24} {figures['clients']:>7} {figures['n']:>5} "
                f"{figures['requests_per_s']:>7} {figures.get('p50_ms', '-'):>8} "
                f"{figures.get('p99_ms', '-'):>8} {figures['errors']:>6}"
            )
    graph = result["graph_breakdown"]
    index, nearest = graph["index_query"], graph["repo_nearest_25"]
    print(
        f"of which the graph store, one at a time: index query for {graph['candidates']} "
        f"candidates p50 {index['p50_ms']} ms (p99 {index['p99_ms']}), VisualRepo.nearest(25) "
        f"p50 {nearest['p50_ms']} ms (p99 {nearest['p99_ms']})"
    )


def print_ann(result: dict[str, Any]) -> None:
    print(
        f"\nANN recall@10 and latency (migration 0007: efRuntime "
        f"{result['migration_0007_ef_runtime']}; writing a query vector as parameter text "
        f"takes the client {result['query_vector_as_text_ms']} ms)"
    )
    print(
        f"{'set':<10} {'efRuntime':>9} {'build s':>7} | {'index k=10':>10} {'p50/p99 ms':>11} | "
        f"{'repo nearest(10)':>16} {'p50/p99 ms':>11}"
    )

    def ms(figures: dict[str, Any]) -> str:
        return f"{figures['p50_ms']:.1f}/{figures['p99_ms']:.1f}"

    for name in ("clustered", "random"):
        data = result[name]
        for ef in data["ef"]:
            alone, repo = ef["index_k10"], ef["repo_nearest_10"]
            print(
                f"{name:<10} {ef['ef_runtime']:>9} {ef['index_build_s']:>7} | "
                f"{alone['recall_at_10']:>10} {ms(alone):>11} | "
                f"{repo['recall_at_10']:>16} {ms(repo):>11}"
            )
        print(
            f"{name:<10} {'exact':>9} {'':>7} | {1.0:>10} {ms(data['exact_numpy']):>11} | "
            f"numpy, one core; {data['pins']:,} vectors loaded in {data['load_s']} s; a query "
            f"carrying the vector, no search: {ms(data['vector_round_trip'])} ms"
        )


def print_duplicates(results: dict[str, Any]) -> None:
    for design in ("tiles", "overlapping"):
        print_duplicate_set(design, results[design])


def print_duplicate_set(design: str, result: dict[str, Any]) -> None:
    print(
        f"\nnear duplicates, {design}: {result['originals']} originals, {result['queries']} copies"
    )
    print(
        f"{'kind':<10} {'recall@1':>9} {'recall@5':>9} {'distance p50':>13} "
        f"{'misses (top hit from the same photo)':>37}"
    )
    for kind, figures in result["kinds"].items():
        print(
            f"{kind:<10} {figures['recall_at_1']:>9} {figures['recall_at_5']:>9} "
            f"{figures['distance_to_original_p50']:>13} "
            f"{figures['misses']:>26} ({figures['misses_on_same_photo']})"
        )
    print(f"{'overall':<10} {result['recall_at_1']:>9}")


def run_graph_parts(parts: list[str], model_dir: Path, sizes: Sizes, found: dict[str, Any]) -> None:
    """The parts that need a scratch FalkorDB: one embedded instance for both."""
    embedder = Embedder(model_dir, threads=0)
    with (
        tempfile.TemporaryDirectory(prefix="pingraph-bench-") as tmp,
        EmbeddedServices(Path(tmp), fsync="everysec") as embedded,
    ):
        assert embedded.endpoints is not None
        endpoints = embedded.endpoints
        found["machine"]["falkordb"] = falkordb_version(endpoints)
        if "ann" in parts:
            found["ann"] = run_part(lambda: asyncio.run(ann(endpoints, embedder, sizes)), print_ann)
        if "duplicates" in parts:
            found["duplicates"] = run_part(
                lambda: asyncio.run(near_duplicates(endpoints, embedder, sizes)), print_duplicates
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it runs")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--pins", type=int, help="vectors per ANN data set")
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes()
    if args.pins:
        sizes = Sizes(**{**asdict(sizes), "pins": args.pins})
    started = time.perf_counter()
    found: dict[str, Any] = {"machine": machine(), "quick": args.quick, "sizes": asdict(sizes)}
    with tempfile.TemporaryDirectory(prefix="pingraph-models-") as models:
        model_dir = Path(models)  # converted once (under a second), shared with the server
        if "throughput" in args.only:
            found["throughput"] = run_part(lambda: throughput(model_dir, sizes), print_throughput)
        if "search" in args.only:
            found["search"] = run_part(lambda: search(model_dir, sizes), print_search)
        graph_parts = [part for part in args.only if part in ("ann", "duplicates")]
        if graph_parts:
            run_graph_parts(graph_parts, model_dir, sizes, found)
    found["wall_s"] = round(time.perf_counter() - started, 1)
    print(f"\nwhole run: {found['wall_s']} s")
    if args.quick:
        print("quick run: not saved")
    else:
        common.save("visual", found)


if __name__ == "__main__":
    main()
