"""What the benchmarks share: the demo server, a small HTTP client and saving figures.

Each benchmark starts with `sys.path.insert(0, <repository>)`: Python puts bench/ first on the
import path, and bench/walks.py would otherwise shadow the `walks` package.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

from graph.backends.base import GraphBackend
from graph.backends.connect import open_backend
from server.embedded import EmbeddedServices

RESULTS = Path(__file__).parent / "results"
SECRET = "bench-secret-" + "x" * 32


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(
    data_dir: Path,
    port: int,
    *,
    demo: bool = True,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    args: list[str] | None = None,
) -> subprocess.Popen[str]:
    """`pingraph serve` on `port`, ready: with the demo graph unless `demo` is False, extra
    `PINGRAPH_*` settings from `env`, more command-line `args` (one worker unless they say
    `--workers`), and its stderr (warnings and errors) in `log`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PINGRAPH_")}
    environment.update(
        PINGRAPH_DATA_DIR=str(data_dir),
        PINGRAPH_JWT_SECRET=SECRET,
        PINGRAPH_LOG_LEVEL="warning",
        PINGRAPH_RATE_LIMIT_USER="100000000/minute",
        PINGRAPH_RATE_LIMIT_ANONYMOUS="100000000/minute",
    )
    environment.update(env or {})
    pingraph = str(Path(sys.executable).with_name("pingraph"))
    args = list(args or [])
    if "--workers" not in args:  # one process, so that `scrape` sees all of its counters
        args += ["--workers", "1"]
    command = [pingraph, "serve", *(["--demo"] if demo else []), "--port", str(port), *args]
    if log is None:
        server = subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL, text=True)
    else:
        with log.open("w") as stderr:  # the child keeps its own copy of the descriptor
            server = subprocess.Popen(command, env=environment, stderr=stderr, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not become ready within 120 s")


def stop_server(server: subprocess.Popen[str], timeout: float = 60) -> None:
    """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it takes longer than `timeout`."""
    server.terminate()
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def embedded_urls(data_dir: Path) -> dict[str, str]:
    """The settings that point another process at the embedded stores a server started in
    `data_dir` (its graph, the analysts' replica and Redis), as a second server uses them."""
    state = json.loads((data_dir / "embedded" / "services.json").read_text())
    password = (data_dir / "embedded" / "password").read_text().strip()
    return {
        "PINGRAPH_GRAPH_URL": f"falkordb://:{password}@127.0.0.1:{state['graph_port']}",
        "PINGRAPH_ANALYST_GRAPH_URL": f"falkordb://:{password}@127.0.0.1:{state['analyst_port']}",
        "PINGRAPH_REDIS_URL": f"redis://:{password}@127.0.0.1:{state['cache_port']}/0",
    }


async def scrape(port: int) -> dict[str, float]:
    """A server's `GET /metrics` as {'name{labels}': value} (samples only, no comments)."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def distribution(samples_ms: list[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99 and max of latencies in milliseconds (just n when empty)."""
    if not samples_ms:
        return {"n": 0}
    values = np.asarray(samples_ms, dtype=float)
    figures = {"n": len(samples_ms), "mean_ms": round(float(values.mean()), 2)}
    for q in (50, 95, 99):
        figures[f"p{q}_ms"] = round(float(np.percentile(values, q)), 2)
    figures["max_ms"] = round(float(values.max()), 2)
    return figures


class Connection:
    """A minimal HTTP/1.1 keep-alive client. httpx's pool, not the server, was the limit at
    32 concurrent clients on this 2-core machine, so the load generator stays this small."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post_json(
        self, path: str, payload: Any, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        body = orjson.dumps(payload)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{head}\r\n".encode()
            + body
        )
        status_line = await self.reader.readuntil(b"\r\n")
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def save(name: str, record: dict[str, Any]) -> None:
    """Write `record` (with the command line and the time) to bench/results/<name>.json."""
    record = {
        "command": f"bench/{Path(sys.argv[0]).name} " + " ".join(sys.argv[1:]),
        **record,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved {path}")


# One request of a load: returns None when it succeeded, or what went wrong.
Send = Callable[["Connection", random.Random, int], Awaitable[str | None]]


@dataclass
class Load:
    seconds: float
    samples: list[float] = field(default_factory=list)  # ms, after the warm-up
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        return {
            "requests_per_s": round(len(self.samples) / self.seconds, 1),
            "p50_ms": round(statistics.median(self.samples), 2),
            "p99_ms": round(float(np.percentile(self.samples, 99)), 2),
        }


async def closed_loop(
    port: int, clients: int, seconds: float, send: Send, *, warm_s: float = 0.0
) -> Load:
    """`clients` connections, each sending its next request when the last is answered, for
    `warm_s` (not measured) then `seconds`. Each client has its own seeded random source."""
    load = Load(seconds)

    async def client(number: int, warm_until: float, until: float) -> None:
        rng = random.Random(number)
        connection = await Connection.open(port)
        try:
            while (now := time.perf_counter()) < until:
                problem = await send(connection, rng, number)
                if problem is not None:
                    load.errors += 1
                    if len(load.first_errors) < 3:
                        load.first_errors.append(problem)
                elif now >= warm_until:
                    load.samples.append((time.perf_counter() - now) * 1000)
        finally:
            connection.close()

    warm_until = time.perf_counter() + warm_s
    until = warm_until + seconds
    await asyncio.gather(*(client(n, warm_until, until) for n in range(clients)))
    return load


# The "related pins" query the graph layer used before walks: co-saved pins by shared boards.
TWO_HOP = """
MATCH (p:Pin {id: $id})-[:SAVED_TO]->(b:Board)<-[:SAVED_TO]-(q:Pin)
WHERE q <> p
RETURN q.id AS id, count(b) AS shared
ORDER BY shared DESC, id
LIMIT 20
"""
LOAD_EDGES = """
UNWIND $rows AS r
MATCH (p:Pin {id: r.p})
MATCH (b:Board {id: r.b})
CREATE (p)-[:SAVED_TO]->(b)
"""


@asynccontextmanager
async def edges_in_falkordb(
    directory: Path,
    pin_ids: Sequence[str],
    board_ids: Sequence[str],
    edges: Sequence[tuple[int, int]],  # (pin, board) positions
) -> AsyncIterator[tuple[GraphBackend, float]]:
    """An embedded FalkorDB holding just these pin-board edges (for `TWO_HOP`), and the
    seconds the edges took to load."""
    with EmbeddedServices(directory, fsync="no") as embedded:
        assert embedded.endpoints is not None
        backend = await open_backend(embedded.endpoints.graph_url, timeout_ms=600_000)
        try:
            await backend.ddl("CREATE INDEX FOR (p:Pin) ON (p.id)")
            await backend.ddl("CREATE INDEX FOR (b:Board) ON (b.id)")
            await backend.write("UNWIND $ids AS id CREATE (:Pin {id: id})", {"ids": pin_ids})
            await backend.write("UNWIND $ids AS id CREATE (:Board {id: id, privacy: 'PUBLIC'})",
                                {"ids": board_ids})  # fmt: skip
            started = time.perf_counter()
            for start in range(0, len(edges), 20_000):
                rows = [{"p": pin_ids[p], "b": board_ids[b]}
                        for p, b in edges[start : start + 20_000]]  # fmt: skip
                await backend.write(LOAD_EDGES, {"rows": rows})
            yield backend, time.perf_counter() - started
        finally:
            await backend.close()
