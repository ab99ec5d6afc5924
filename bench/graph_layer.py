"""Graph layer benchmark: seed load throughput and main repository read latencies.

    .venv/bin/python bench/graph_layer.py [--saves 1000000] [--reads 300]

Starts its own embedded FalkorDB in a temporary data directory, loads a seeded graph with the
same code as `pingraph seed`, then times board pages, users' boards and topic pins. Prints a
table and saves bench/results/graph_layer.json.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import common
import numpy as np

from events.bus import DiscardEvents
from graph.backends.connect import open_backend
from graph.demo import seed
from graph.migrate import migrate
from graph.repos import Repositories
from server.embedded import EmbeddedServices


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> dict[str, float]:
    for _ in range(min(20, runs)):
        await fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(float(np.percentile(samples, 99)), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
        "runs": runs,
    }


async def bench(url: str, sizes: seed.Sizes, reads: int) -> dict[str, Any]:
    backend = await open_backend(url, timeout_ms=600_000)
    await migrate(backend)
    started = time.perf_counter()
    graph = seed.generate(sizes)
    generated = time.perf_counter() - started
    phase_times: dict[str, float] = {}
    marks: dict[str, float] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if done == 0:
            marks[phase] = time.perf_counter()
        if done == total:
            phase_times[phase] = time.perf_counter() - marks[phase]
            print(f"  loaded {phase}: {total:,} rows in {phase_times[phase]:.1f}s", flush=True)

    started = time.perf_counter()
    await seed.load(backend, graph, progress=progress)
    loaded = time.perf_counter() - started

    repos = Repositories.over(backend, DiscardEvents())  # reads only
    rng = np.random.default_rng(1)
    save_counts: dict[str, int] = {}
    for save in graph.saves:
        save_counts[save["board"]] = save_counts.get(save["board"], 0) + 1
    public = [b for b in graph.boards if b["privacy"] == "PUBLIC"]
    # Board pages are read in proportion to their size (popular boards get more traffic).
    weights = np.array([save_counts.get(b["id"], 0) + 1 for b in public], dtype=float)
    picks = rng.choice(len(public), size=reads, p=weights / weights.sum())
    users = [u["id"] for u in graph.users]
    cycle = {"board": iter(picks.tolist()), "user": iter(rng.integers(0, len(users), reads * 2))}

    async def board_page() -> None:
        board = public[next(cycle["board"], 0)]["id"]
        await repos.boards.get(board, None)
        await repos.boards.pins(board, None, 25, None)

    async def users_boards() -> None:
        await repos.boards.of_user(users[int(next(cycle["user"], 0))], None, 25, None)

    async def topic_pins() -> None:
        await repos.topics.pins(seed.TOPICS[int(rng.integers(0, 10))], None, 25, None)

    latencies = {
        "board page (board + 25 pins)": await timed(board_page, reads),
        "user's boards (25)": await timed(users_boards, reads),
        "topic pins (25, popular topics)": await timed(topic_pins, reads),
    }
    await backend.close()
    return {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "sizes": sizes.__dict__,
        "generate_s": round(generated, 1),
        "load_s": round(loaded, 1),
        "saves_phase_s": round(phase_times["saves"], 1),
        "saves_per_s": round(len(graph.saves) / phase_times["saves"]),
        "rows_per_s_overall": round(sum(len(rows) for _, _, rows in graph.phases()) / loaded),
        "latency": latencies,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--saves", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    sizes = seed.Sizes(users=args.saves // 50, pins=args.saves // 5, saves=args.saves)
    with (
        tempfile.TemporaryDirectory() as data,
        EmbeddedServices(Path(data), fsync="everysec") as emb,
    ):
        assert emb.endpoints is not None
        print(f"seeding {sizes} into embedded FalkorDB (appendfsync everysec)", flush=True)
        result = asyncio.run(bench(emb.endpoints.graph_url, sizes, args.reads))
    print(
        f"\nload: {result['saves_per_s']:,} saves/s in the saves phase; "
        f"{result['rows_per_s_overall']:,} rows/s overall ({result['load_s']}s)"
    )
    print(f"{'read':<34} {'p50 ms':>8} {'p99 ms':>8}")
    for name, figures in result["latency"].items():
        print(f"{name:<34} {figures['p50_ms']:>8} {figures['p99_ms']:>8}")
    common.save("graph_layer", result)


if __name__ == "__main__":
    main()
