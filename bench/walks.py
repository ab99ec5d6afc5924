"""Pixie walk benchmark: kernel speed, the HTTP endpoint, snapshot size, and the baselines.

    .venv/bin/python bench/walks.py [--edges 10000000 1000000] [--seconds 15]

For each size, a synthetic power-law pin-board graph (board sizes and pin popularity both
Zipf-like, as in Pixie's graph) is generated, built into a snapshot, saved and loaded. Then:
- kernel: 100,000-step queries from popular-ish pins, one thread (steps/s per core) and two;
- HTTP (largest graph): `pingraph serve` loads the snapshot and N clients send 100,000-step
  `POST /walks/related` queries for a fixed time (p50, p99, queries/s);
- baselines (smallest graph): networkx personalised PageRank (scipy) and the Cypher two-hop
  "related pins" query in embedded FalkorDB on the same graph, their times and top-20
  agreement with the walk.
Prints a table and saves bench/results/walks.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import asyncio
import json
import math
import random
import shutil
import statistics
import tempfile
import threading
import time
from typing import Any

import networkx as nx
import numpy as np
from common import (
    SECRET,
    TWO_HOP,
    Connection,
    closed_loop,
    edges_in_falkordb,
    free_port,
    save,
    start_server,
)
from ulid import ULID

from domain.identity import Role
from server.auth import issue_token
from walks import graph as walk_graph
from walks.engine import Query, WalkEngine
from walks.graph import WalkGraph

STEPS = 100_000


def synthetic(edges: int, seed: int = 1) -> tuple[WalkGraph, dict[str, float]]:
    """About `edges` distinct pin-board edges; pins:boards:edges as 1 : 0.2 : 10."""
    rng = np.random.default_rng(seed)
    pins, boards = edges // 10, edges // 50
    board_weight = 1.0 / np.arange(1, boards + 1) ** 0.8
    pin_weight = 1.0 / np.arange(1, pins + 1) ** 0.9
    draw = int(edges * 1.15)
    pairs = np.unique(
        rng.choice(pins, draw, p=pin_weight / pin_weight.sum()).astype(np.int64) * boards
        + rng.choice(boards, draw, p=board_weight / board_weight.sum())
    )[:edges]
    rng.shuffle(pairs)
    base = int(time.time() * 1000) - 10**9
    pin_ids = [str(ULID.from_timestamp((base + i) / 1000)) for i in range(pins)]
    board_ids = [str(ULID.from_timestamp((base + i) / 1000)) for i in range(boards)]
    topics = [[f"topic{b % 40}"] for b in range(boards)]
    langs = ["en" if b % 5 else "fr" for b in range(boards)]
    started = time.perf_counter()
    built = walk_graph.build(
        pin_ids, board_ids, pairs // boards, pairs % boards, topics, langs, max_board_degree=None
    )
    return built, {"build_s": round(time.perf_counter() - started, 2)}


def query_pins(graph: WalkGraph, count: int, seed: int) -> list[str]:
    """Query pins drawn from pins with 2-200 boards: ordinary pins, as users save them."""
    degrees = np.diff(graph.pin_ptr)
    ordinary = np.flatnonzero((degrees >= 2) & (degrees <= 200))
    rng = np.random.default_rng(seed)
    return walk_graph.id_strings(graph.pin_ids[rng.choice(ordinary, count)])


def kernel_speed(engine: WalkEngine, pins: list[str], threads: int) -> dict[str, float]:
    per_thread = len(pins) // threads
    taken = [0] * threads

    def work(number: int) -> None:
        for pin in pins[number * per_thread : (number + 1) * per_thread]:
            taken[number] += engine.run_sync(
                Query(pins={pin: 1.0}, steps=STEPS, seed=1)
            ).steps_taken

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    return {
        "threads": threads,
        "steps_per_s": round(sum(taken) / wall),
        "steps_per_s_per_thread": round(sum(taken) / wall / threads),
        "queries_per_s": round(len(pins[: per_thread * threads]) / wall, 1),
    }


async def http_load(
    port: int, pins: list[str], clients: int, seconds: float, *, early_stop: bool = False
) -> dict[str, Any]:
    token = issue_token(SECRET, "01J00000000000000000000000", [Role.RECOMMENDER], 3600)
    headers = {"Authorization": f"Bearer {token}"}

    async def send(connection: Connection, rng: random.Random, number: int) -> str | None:
        body: dict[str, Any] = {"pins": [rng.choice(pins)], "steps": STEPS, "topK": 50}
        if early_stop:
            body["earlyStop"] = {"np": 2000, "nv": 4}
        status, _ = await connection.post_json("/walks/related", body, headers)
        return None if status == 200 else str(status)

    load = await closed_loop(port, clients, seconds, send, warm_s=2)
    figures = load.figures()
    return {
        "clients": clients,
        "early_stop": early_stop,
        "queries_per_s": figures["requests_per_s"],
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "errors": load.errors,
    }


def early_stopping(engine: WalkEngine, pins: list[str]) -> dict[str, float]:
    """Pixie's early stopping (n_p 2000, n_v 4) against full walks: time and top-20 overlap."""
    full_s = early_s = 0.0
    overlaps, steps = [], []
    for pin in pins:
        started = time.perf_counter()
        full = engine.run_sync(Query(pins={pin: 1.0}, steps=STEPS, top_k=20, seed=1))
        full_s += time.perf_counter() - started
        started = time.perf_counter()
        early = engine.run_sync(
            Query(pins={pin: 1.0}, steps=STEPS, top_k=20, seed=1, early_np=2000, early_nv=4)
        )
        early_s += time.perf_counter() - started
        overlaps.append(overlap([h.pin_id for h in full.items], [h.pin_id for h in early.items]))
        steps.append(early.steps_taken)
    return {
        "time_ratio": round(early_s / full_s, 3),
        "top20_overlap": round(statistics.fmean(overlaps), 3),
        "mean_steps_taken": round(statistics.fmean(steps)),
    }


def overlap(a: list[str], b: list[str]) -> float:
    return len(set(a) & set(b)) / max(1, min(len(a), len(b)))


async def baselines(graph: WalkGraph, engine: WalkEngine, tmp: Path) -> dict[str, Any]:
    """networkx PPR and Cypher two-hop on the same graph, against the walk's top 20."""
    pins = query_pins(graph, 5, seed=9)
    pin_names = walk_graph.id_strings(graph.pin_ids)
    board_names = walk_graph.id_strings(graph.board_ids)
    bipartite = nx.Graph()
    for pin in range(graph.pins):
        for board in graph.pin_boards[graph.pin_ptr[pin] : graph.pin_ptr[pin + 1]]:
            bipartite.add_edge(pin_names[pin], "b" + board_names[int(board)])
    report: dict[str, Any] = {"queries": len(pins)}
    walk_tops, ppr_tops, ppr_times, walk_times = [], [], [], []
    for pin in pins:
        started = time.perf_counter()
        result = engine.run_sync(Query(pins={pin: 1.0}, steps=STEPS, top_k=20, seed=1))
        walk_times.append(time.perf_counter() - started)
        walk_tops.append([hit.pin_id for hit in result.items])
        started = time.perf_counter()
        ranks = nx.pagerank(bipartite, alpha=math.sqrt(0.5), personalization={pin: 1.0})
        ppr_times.append(time.perf_counter() - started)
        ranked = [n for n, _ in sorted(ranks.items(), key=lambda kv: -kv[1])
                  if not n.startswith("b") and n != pin][:20]  # fmt: skip
        ppr_tops.append(ranked)
    report["walk_ms"] = round(statistics.fmean(walk_times) * 1000, 1)
    report["networkx_ppr_ms"] = round(statistics.fmean(ppr_times) * 1000, 1)
    report["walk_vs_ppr_top20_overlap"] = round(
        statistics.fmean(overlap(w, p) for w, p in zip(walk_tops, ppr_tops, strict=True)), 3
    )
    # The same edges in FalkorDB, and the two-hop query the graph layer used before walks.
    edges = [
        (pin, int(board))
        for pin in range(graph.pins)
        for board in graph.pin_boards[graph.pin_ptr[pin] : graph.pin_ptr[pin + 1]]
    ]
    async with edges_in_falkordb(tmp / "falkor", pin_names, board_names, edges) as (
        backend,
        load_s,
    ):
        report["falkordb_load_s"] = round(load_s, 1)
        cypher_tops, cypher_times = [], []
        for pin in pins:
            started = time.perf_counter()
            found = await backend.read(TWO_HOP, {"id": pin})
            cypher_times.append(time.perf_counter() - started)
            cypher_tops.append([row["id"] for row in found])
    report["cypher_two_hop_ms"] = round(statistics.fmean(cypher_times) * 1000, 1)
    report["walk_vs_cypher_top20_overlap"] = round(
        statistics.fmean(overlap(w, c) for w, c in zip(walk_tops, cypher_tops, strict=True)), 3
    )
    report["ppr_vs_cypher_top20_overlap"] = round(
        statistics.fmean(overlap(p, c) for p, c in zip(ppr_tops, cypher_tops, strict=True)), 3
    )
    return report


def size_report(graph: WalkGraph, path: Path, load_s: float) -> dict[str, Any]:
    on_disk = sum(f.stat().st_size for f in path.iterdir())
    csr = sum(
        getattr(graph, name).nbytes for name in ("pin_ptr", "pin_boards", "board_ptr", "board_pins")
    )
    return {
        "pins": graph.pins,
        "boards": graph.boards,
        "edges": graph.edges,
        "bytes_per_edge": round(graph.nbytes() / graph.edges, 2),
        "csr_bytes_per_edge": round(csr / graph.edges, 2),
        "snapshot_bytes_on_disk": on_disk,
        "load_s": round(load_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edges", type=int, nargs="+", default=[10_000_000, 1_000_000])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    record: dict[str, Any] = {"graphs": {}}
    with tempfile.TemporaryDirectory(prefix="pingraph-walks-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for edges in sorted(args.edges, reverse=True):
            print(f"== {edges:,} edges", flush=True)
            built, timing = synthetic(edges)
            path = walk_graph.save(built, tmp / f"snap-{edges}")
            started = time.perf_counter()
            graph = walk_graph.load(path)
            load_s = time.perf_counter() - started
            entry: dict[str, Any] = {**timing, **size_report(graph, path, load_s)}
            print(json.dumps(entry), flush=True)
            engine = WalkEngine(graph)
            pins = query_pins(graph, 60, seed=3)
            engine.run_sync(Query(pins={pins[0]: 1.0}, steps=1000, seed=1))  # compile
            entry["kernel_1_thread"] = kernel_speed(engine, pins, 1)
            entry["kernel_2_threads"] = kernel_speed(engine, pins, 2)
            entry["early_stopping"] = early_stopping(engine, pins[:30])
            print(
                json.dumps(
                    {k: entry[k] for k in ("kernel_1_thread", "kernel_2_threads", "early_stopping")}
                ),
                flush=True,
            )
            if edges == max(args.edges):
                data_dir = tmp / "serve"
                shutil.copytree(path, data_dir / "walks" / path.name)
                port = free_port()
                server = start_server(data_dir, port)
                try:
                    entry["http"] = [
                        asyncio.run(http_load(port, pins, clients, args.seconds, early_stop=early))
                        for early in (False, True)
                        for clients in (1, args.clients)
                    ]
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                print(json.dumps(entry["http"]), flush=True)
            if edges == min(args.edges):
                entry["baselines"] = asyncio.run(baselines(graph, engine, tmp))
                print(json.dumps(entry["baselines"]), flush=True)
            record["graphs"][str(edges)] = entry
    save("walks", record)


if __name__ == "__main__":
    main()
