"""Live walk-graph updates: how soon a save shows in /walks/related, and what a merge costs.

    .venv/bin/python bench/live_walks.py [--trials 30] [--edges 1000000 10000000]

1. End to end: starts `pingraph serve --demo`; each trial creates a pin on one of the demo
   user's public boards (a save through GraphQL) and then asks /walks/related, for a pin of
   the same board, again and again until the new pin is among the results. The time from
   the mutation's answer to that result is the delta-to-visible latency.
2. The merge alone (walks/overlay.py) on synthetic power-law graphs of --edges edges:
   batches of 1, 100 and 1,000 saves (a tenth of them new pins), median of 5.
Saves bench/results/live_walks.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import asyncio
import importlib.util
import random
import statistics
import tempfile
import time
from typing import Any

import numpy as np
import orjson
from common import SECRET, Connection, free_port, save, start_server
from ulid import ULID

from domain.identity import Role
from graph.demo import seed
from server.auth import issue_token
from walks.graph import id_strings
from walks.overlay import SAVE, Delta, fold, merge

MY_BOARDS = """{ me { id boards(first: 50) { edges { node { id privacy
  pins(first: 3) { edges { node { id } } } } } } } }"""
CREATE_PIN = """mutation($b: ID!, $t: String!) {
  createPin(input: {title: $t, boardId: $b}) { id } }"""


async def delta_to_visible(port: int, trials: int) -> dict[str, Any]:
    connection = await Connection.open(port)
    try:
        user_token = issue_token(SECRET, demo_user(), [Role.USER], 3600)
        user = {"Authorization": f"Bearer {user_token}"}
        robot = {
            "Authorization": f"Bearer {issue_token(SECRET, 'bench', [Role.RECOMMENDER], 3600)}"
        }
        _, body = await connection.post_json("/graphql", {"query": MY_BOARDS}, user)
        boards = [
            (edge["node"]["id"], [pin["node"]["id"] for pin in edge["node"]["pins"]["edges"]])
            for edge in _json(body)["data"]["me"]["boards"]["edges"]
            if edge["node"]["privacy"] == "PUBLIC" and edge["node"]["pins"]["edges"]
        ]
        latencies, polls = [], []
        for trial in range(trials):
            board, pins = boards[trial % len(boards)]
            variables = {"b": board, "t": f"live {trial}"}
            _, body = await connection.post_json(
                "/graphql", {"query": CREATE_PIN, "variables": variables}, user
            )
            created = _json(body)["data"]["createPin"]["id"]
            answered = time.perf_counter()
            query = {"pins": [pins[0]], "steps": 20_000, "topK": 1000, "seed": trial}
            for attempt in range(1, 10_000):
                _, found = await connection.post_json("/walks/related", query, robot)
                if created in {item["pinId"] for item in _json(found)["items"]}:
                    latencies.append((time.perf_counter() - answered) * 1000)
                    polls.append(attempt)
                    break
                if time.perf_counter() - answered > 10:
                    raise SystemExit(f"trial {trial}: the new pin never showed up in 10 s")
    finally:
        connection.close()
    return {
        "trials": trials,
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "max_ms": round(max(latencies), 1),
        "mean_related_queries": round(statistics.mean(polls), 1),
    }


def demo_user() -> str:
    """The demo data is deterministic: the demo user's id is known without asking."""
    users = seed.generate(seed.Sizes.small()).users
    return str(next(user["id"] for user in users if user["handle"] == "demo"))


def _json(body: bytes) -> Any:
    return orjson.loads(body)


def merge_costs(edges: int) -> dict[str, Any]:
    synthetic = _bench_walks().synthetic
    graph, _ = synthetic(edges)
    rng = random.Random(1)
    pins, boards = id_strings(graph.pin_ids), id_strings(graph.board_ids)
    costs: dict[str, Any] = {"pins": graph.pins, "boards": graph.boards, "edges": graph.edges}
    for size in (1, 100, 1000):
        samples = []
        for _ in range(5):
            deltas = [
                Delta(SAVE, str(ULID()) if rng.random() < 0.1 else rng.choice(pins),
                      rng.choice(boards))
                for _ in range(size)
            ]  # fmt: skip
            started = time.perf_counter()
            merged = merge(graph, fold(deltas), {}, len(deltas))
            samples.append((time.perf_counter() - started) * 1000)
        assert merged.edges >= graph.edges
        costs[f"batch_{size}_ms"] = round(statistics.median(samples), 1)
        print(f"  {edges:,} edges, batch of {size}: {costs[f'batch_{size}_ms']} ms", flush=True)
    return costs


def _bench_walks() -> Any:
    """bench/walks.py, imported under another name (`walks` is the package)."""
    spec = importlib.util.spec_from_file_location(
        "bench_walks", Path(__file__).with_name("walks.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--edges", type=int, nargs="*", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    record: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pingraph-live-bench-") as tmp:
        port = free_port()
        server = start_server(Path(tmp) / "data", port)
        try:
            record["delta_to_visible"] = asyncio.run(delta_to_visible(port, args.trials))
            print("delta to visible", record["delta_to_visible"], flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    record["merge"] = [merge_costs(edges) for edges in args.edges]
    save("live_walks", record)


if __name__ == "__main__":
    main()
