"""Latency of the analyst query library (docs/analyst-queries.cypher) on the 1M-save graph.

    .venv/bin/python bench/analyst_queries.py [--saves 1000000] [--runs 3]

Seeds the `pingraph seed` default graph (20,000 users, 200,000 pins, 1,000,000 saves) into
an embedded FalkorDB of its own, then runs every library query through the analyst path
(`graph.analyst.explore`: the read-only check, GRAPH.RO_QUERY, rendering) once to warm up
and `--runs` times more. Prints and saves the median, and the rows returned, to
bench/results/analyst_queries.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import asyncio
import statistics
import tempfile
import time
from typing import Any

import common

from graph.analyst import sandbox as analyst
from graph.analyst.library import DEFAULT_LIBRARY, load_library
from graph.backends.connect import open_backend
from graph.demo import seed
from graph.migrate import migrate
from server.embedded import EmbeddedServices
from server.observability import configure_logging


async def bench(url: str, sizes: seed.Sizes | None, runs: int) -> dict[str, Any]:
    backend = await open_backend(url)
    try:
        if sizes is not None:
            await migrate(backend)
            started = time.perf_counter()
            await seed.load(backend, seed.generate(sizes))
            print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        figures: dict[str, Any] = {}
        for query in load_library(DEFAULT_LIBRARY):
            times = []
            for _ in range(runs + 1):
                table = await analyst.explore(
                    backend, query.query, query.params, timeout_ms=analyst.MAX_TIMEOUT_MS,
                    analyst="bench",
                )  # fmt: skip
                times.append(table.elapsed_ms)
            figures[query.name] = {
                "median_ms": round(statistics.median(times[1:]), 1),
                "first_ms": round(times[0], 1),
                "rows": len(table.rows),
            }
            print(f"{query.name:<30} {figures[query.name]['median_ms']:>9} ms "
                  f"{len(table.rows):>4} rows", flush=True)  # fmt: skip
        return figures
    finally:
        await backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--saves", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--graph-url", help="A FalkorDB already seeded with --saves saves: no seeding here."
    )
    args = parser.parse_args()
    configure_logging(json=False, level="warning")  # not a log line per query
    sizes = seed.Sizes(users=args.saves // 50, pins=args.saves // 5, saves=args.saves)
    if args.graph_url:
        figures = asyncio.run(bench(args.graph_url, None, args.runs))
    else:
        with (
            tempfile.TemporaryDirectory() as data,
            EmbeddedServices(Path(data), fsync="everysec") as embedded,
        ):
            assert embedded.endpoints is not None
            print(f"seeding {sizes}", flush=True)
            figures = asyncio.run(bench(embedded.endpoints.graph_url, sizes, args.runs))
    common.save("analyst_queries", {"sizes": vars(sizes), "runs": args.runs, "queries": figures})


if __name__ == "__main__":
    main()
