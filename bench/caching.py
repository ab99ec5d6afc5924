"""Board cache benchmark: board pages cold vs warm, and the hit ratio under Zipf popularity.

    .venv/bin/python bench/caching.py [--seconds 10] [--clients 16]

Starts `pingraph serve --demo` and sends signed-in board-page queries (a signed-in request
bypasses the anonymous answer cache, so this measures the Redis board cache alone). Boards are
picked with Zipf(1.0) popularity over the demo's public boards. "cold" runs right after the
cache epoch is moved (every cached page unreachable); "warm" runs right after it. Hits and
misses come from the server's /metrics. Saves bench/results/caching.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import asyncio
import json
import random
import re
import tempfile
from typing import Any

import graphql_api
import httpx
import numpy as np
import redis
from common import SECRET, Connection, closed_loop, free_port, save, start_server

from domain.identity import Role
from graph.demo import seed
from server.auth import issue_token


def cache_counts(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    found = re.findall(r'pingraph_cache_events_total\{cache="board",event="(\w+)"\} (\S+)', text)
    return {event: float(value) for event, value in found}


async def run(
    port: int, boards: list[str], token: str, clients: int, seconds: float
) -> dict[str, Any]:
    weights = 1.0 / np.arange(1, len(boards) + 1)
    cumulative = np.cumsum(weights / weights.sum())
    headers = {"Authorization": f"Bearer {token}"}

    async def send(connection: Connection, rng: random.Random, number: int) -> str | None:
        board = boards[int(np.searchsorted(cumulative, rng.random()))]
        payload = {"query": graphql_api.BOARD_PAGE, "variables": {"id": board}}
        status, _ = await connection.post_json("/graphql", payload, headers)
        return None if status == 200 else str(status)

    return (await closed_loop(port, clients, seconds, send)).figures()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    graph = seed.generate(seed.Sizes.small())
    public = [b["id"] for b in graph.boards if b["privacy"] == "PUBLIC"]
    random.Random(1).shuffle(public)  # popularity unrelated to id order
    viewer = graph.users[0]["id"]
    token = issue_token(SECRET, viewer, [Role.USER], 3600)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pingraph-cache-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        port = free_port()
        server = start_server(data_dir, port)
        try:
            state = json.loads((data_dir / "embedded" / "services.json").read_text())
            password = (data_dir / "embedded" / "password").read_text().strip()
            cache = redis.Redis(port=state["cache_port"], password=password)
            for phase in ("cold", "warm"):
                if phase == "cold":
                    cache.incr("pg:epoch")  # every cached page unreachable
                before = cache_counts(port)
                figures = asyncio.run(run(port, public, token, args.clients, args.seconds))
                after = cache_counts(port)
                hits = after.get("hit", 0) - before.get("hit", 0)
                misses = after.get("miss", 0) - before.get("miss", 0)
                figures["hit_ratio"] = round(hits / max(1.0, hits + misses), 3)
                results[phase] = figures
                print(phase, figures, flush=True)
            cache.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    save("caching", {
        "boards": len(public),
        "popularity": "Zipf(1.0)",
        "clients": args.clients,
        "results": results,
    })  # fmt: skip


if __name__ == "__main__":
    main()
