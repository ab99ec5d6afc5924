"""GraphQL API benchmark: requests/s and latency of the main frontend operations.

    .venv/bin/python bench/graphql_api.py [--seconds 10] [--clients 32]

Starts `pingraph serve --demo` (one uvicorn worker, embedded FalkorDB and Redis, the demo
graph) in a temporary data directory on a free loopback port, then runs each scenario for a
fixed time with N concurrent clients (keep-alive connections) and stops by itself:

- trivial      `{ __typename }`: the framework's ceiling on this machine
- pin_closeup  pin + creator + boards (with owners) + topics + save count
- board_page   board + owner + 25 pins (title, image, creator)
- home_feed    25 pins of a signed-in user's feed (each client its own user)
- save_pin     savePin into the client's own board (a write, fsync per write by default)

The ids come from the same deterministic generator the server seeded with. Prints a table
and saves bench/results/graphql_api.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import asyncio
import os
import platform
import random
import tempfile
from collections.abc import Callable
from typing import Any

from common import SECRET, Connection, closed_loop, free_port, save, start_server

from domain.identity import Role
from graph.demo import seed
from server.auth import issue_token

TRIVIAL = "{ __typename }"
PIN_CLOSEUP = """
query Closeup($id: ID!) {
  pin(id: $id) {
    id title description link saveCount image { url width height dominantColor }
    creator { id handle displayName }
    topics { name }
    boards(first: 10) { edges { node { id name owner { handle } } } }
  }
}
"""
BOARD_PAGE = """
query BoardPage($id: ID!) {
  board(id: $id) {
    id name description pinCount
    owner { id handle displayName }
    pins(first: 25) {
      pageInfo { hasNextPage endCursor }
      edges { node { id title image { url(size: SMALL) width height dominantColor }
                     creator { handle } } }
    }
  }
}
"""
HOME_FEED = """
query Feed { homeFeed(first: 25) { pageInfo { hasNextPage endCursor }
  edges { node { id title image { url(size: SMALL) } creator { handle } } } } }
"""
SAVE_PIN = "mutation Save($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id saveCount } }"


Request = Callable[[random.Random, int], tuple[str, dict[str, Any], dict[str, str]]]


async def run_scenario(
    port: int, request: Request, *, clients: int, seconds: float
) -> dict[str, Any]:
    async def send(connection: Connection, rng: random.Random, number: int) -> str | None:
        query, variables, headers = request(rng, number)
        payload = {"query": query, "variables": variables}
        status, body = await connection.post_json("/graphql", payload, headers)
        if status != 200 or b'"errors"' in body:
            return f"{status} {body[:300].decode(errors='replace')}"
        return None

    load = await closed_loop(port, clients, seconds, send, warm_s=min(2.0, seconds / 5))
    return {
        **load.figures(),
        "requests": len(load.samples),
        "errors": load.errors,
        "clients": clients,
        "first_errors": load.first_errors,
    }


def scenarios(graph: seed.SeedGraph) -> dict[str, Request]:
    public_boards = {b["id"] for b in graph.boards if b["privacy"] == "PUBLIC"}
    public_saves = [s for s in graph.saves if s["board"] in public_boards]
    boards_with_pins = sorted({s["board"] for s in public_saves})
    pins = sorted({s["pin"] for s in public_saves})
    owned: dict[str, str] = {}
    for board in graph.boards:
        if board["privacy"] == "PUBLIC":
            owned.setdefault(board["owner"], board["id"])
    savers = [u for u in graph.users if u["id"] in owned]

    def token_for(user: dict[str, Any]) -> dict[str, str]:
        token = issue_token(SECRET, user["id"], [Role.USER], 3600)
        return {"Authorization": f"Bearer {token}"}

    tokens = [token_for(u) for u in savers]

    def trivial(rng: random.Random, n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        return TRIVIAL, {}, {}

    def closeup(rng: random.Random, n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        return PIN_CLOSEUP, {"id": rng.choice(pins)}, {}

    def board_page(rng: random.Random, n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        return BOARD_PAGE, {"id": rng.choice(boards_with_pins)}, {}

    def home_feed(rng: random.Random, n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        return HOME_FEED, {}, tokens[n % len(tokens)]

    def save_pin(rng: random.Random, n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        user = savers[n % len(savers)]
        variables = {"p": rng.choice(pins), "b": owned[user["id"]]}
        return SAVE_PIN, variables, tokens[n % len(tokens)]

    return {
        "trivial": trivial,
        "pin_closeup": closeup,
        "board_page": board_page,
        "home_feed": home_feed,
        "save_pin": save_pin,
    }


async def bench(port: int, seconds: float, clients: list[int], only: list[str]) -> dict[str, Any]:
    graph = seed.generate(seed.Sizes.small())
    found: dict[str, Any] = {}
    for name, request in scenarios(graph).items():
        if only and name not in only and name != "trivial":
            continue
        for count in clients:
            result = await run_scenario(port, request, clients=count, seconds=seconds)
            found[f"{name}@{count}"] = result
            print(
                f"{name:<12} {count:>3} clients  {result['requests_per_s']:>8.1f} req/s  "
                f"p50 {result['p50_ms']:>7.2f} ms  p99 {result['p99_ms']:>7.2f} ms  "
                f"errors {result['errors']}",
                flush=True,
            )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="measured time per scenario")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--only", nargs="*", default=[], help="scenarios to run (and trivial)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pingraph-bench-") as tmp:
        port = free_port()
        server = start_server(Path(tmp) / "data", port)
        try:
            results = asyncio.run(bench(port, args.seconds, args.clients, args.only))
        finally:
            server.terminate()
            server.wait(timeout=30)
    ceiling = results[f"trivial@{args.clients[-1]}"]["requests_per_s"]
    for result in results.values():
        result["share_of_trivial"] = round(result["requests_per_s"] / ceiling, 3)
    save("graphql_api", {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "graph": "demo (pingraph seed --small: 200 users, 2,000 pins, 8,000 saves)",
        "server": "one uvicorn worker; embedded FalkorDB (AOF fsync always) and Redis",
        "seconds_per_scenario": args.seconds,
        "results": results,
    })  # fmt: skip


if __name__ == "__main__":
    main()
