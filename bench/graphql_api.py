"""GraphQL API benchmark: requests/s and latency of the main frontend operations, under wrk.

    .venv/bin/python bench/graphql_api.py [--seconds 10] [--clients 16 32] [--workers 1 2]
                                          [--only board_signed home_feed]

For each worker count, starts `pingraph serve --demo --workers N` (embedded FalkorDB and
Redis, the demo graph) in a temporary data directory on a free loopback port, then runs each
scenario with wrk (installed with scripts/debian-packages when missing): N keep-alive
connections for a fixed time after a short unmeasured warm-up. Everything stops by itself.

- trivial_signed  `{ __typename }` with a token: the framework's ceiling for signed-in calls
- board_anon      the board page (board, owner, 25 pins with image and creator) of the
                  largest public board, anonymous: served from the anonymous answer cache
- board_signed    the same page, signed in (each request another user's token)
- home_feed       25 pins of the caller's home feed (each request another user's token)
- pin_closeup     pin + creator + boards (with owners) + topics + save count, anonymous
- save_pin        savePin into the caller's own board (a write)

Before its load, every distinct request of a scenario is sent once and checked (status 200,
no errors): the load then meets a warm service, every user's feed ranked (a feed is ranked
once per user per ten minutes); the median of those first calls is saved too. Prints a table
with each figure's ratio to the trivial query of the same run (same workers and clients), and
saves bench/results/graphql_api.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from common import SECRET, free_port, save, start_server, stop_server

from domain.identity import Role
from graph.demo import seed
from server.auth import issue_token

ROOT = Path(__file__).resolve().parents[1]
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
USERS = 64  # distinct signed-in callers per scenario
WARM_S = 3
DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p90_ms": %.2f, '
    .. '"p99_ms": %.2f, "max_ms": %.2f, "socket_errors": %d, "non_2xx": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
"""


@dataclass(frozen=True)
class Call:
    body: dict[str, Any]
    token: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


def scenarios(graph: seed.SeedGraph) -> dict[str, list[Call]]:
    """Each scenario's requests, sent in turn (the seed is deterministic: these ids exist)."""
    public = {b["id"] for b in graph.boards if b["privacy"] == "PUBLIC"}
    saves = Counter(s["board"] for s in graph.saves if s["board"] in public)
    largest = saves.most_common(1)[0][0]
    pins = sorted({s["pin"] for s in graph.saves if s["board"] in public})
    owned: dict[str, str] = {}
    for board in graph.boards:
        if board["privacy"] == "PUBLIC":
            owned.setdefault(board["owner"], board["id"])
    savers = [u["id"] for u in graph.users if u["id"] in owned][:USERS]
    tokens = [issue_token(SECRET, user, [Role.USER], 6 * 3600) for user in savers]
    board = {"query": BOARD_PAGE, "variables": {"id": largest}}
    return {
        "trivial_signed": [Call({"query": TRIVIAL}, token) for token in tokens],
        "board_anon": [Call(board)],
        "board_signed": [Call(board, token) for token in tokens],
        "home_feed": [Call({"query": HOME_FEED}, token) for token in tokens],
        "pin_closeup": [Call({"query": PIN_CLOSEUP, "variables": {"id": p}}) for p in pins[:200]],
        "save_pin": [
            Call(
                {"query": SAVE_PIN, "variables": {"p": pins[7 * n % len(pins)], "b": owned[u]}},
                token,
            )
            for n, (u, token) in enumerate(zip(savers, tokens, strict=True))
        ],
    }


def lua_script(calls: list[Call]) -> str:
    """A wrk script sending `calls` in turn, each connection starting at its own place."""
    requests = ",\n".join(
        "wrk.format('POST', '/graphql', {"
        + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in c.headers().items())
        + f"}}, {json.dumps(json.dumps(c.body))})"
        for c in calls
    )
    return (
        f"local requests = nil\nlocal n = 0\n"
        f"init = function(args) requests = {{\n{requests}\n}} end\n"
        "request = function() n = n + 1; return requests[(n % #requests) + 1] end\n" + DONE
    )


def prime(port: int, calls: list[Call]) -> float:
    """Send each distinct call once, checking it works (status 200, no errors), so that the
    measured load finds what a steady service has: every user's feed ranked (once per user
    per ten minutes), every page cached. Returns the median first-call time in ms."""
    times = []
    for call in calls:
        started = time.perf_counter()
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json=call.body,
                            headers=call.headers(), timeout=60)  # fmt: skip
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200 or "errors" in answer.json():
            raise SystemExit(f"the scenario does not work: {answer.status_code} "
                             f"{answer.text[:300]}")  # fmt: skip
    return round(statistics.median(times), 1)


def wrk(port: int, script: Path, clients: int, seconds: int) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(script), f"http://127.0.0.1:{port}/graphql"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    found: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    found["requests_per_s"] = round(found["requests"] / found["seconds"], 1)
    return found


def run_workers(
    workers: int, calls: dict[str, list[Call]], clients: list[int], seconds: int, tmp: Path
) -> dict[str, Any]:
    port = free_port()
    extra = ["--workers", str(workers)]
    server = start_server(tmp / f"data-{workers}", port, args=extra)
    found: dict[str, Any] = {}
    try:
        for name, scenario in calls.items():
            first_ms = prime(port, scenario if name != "save_pin" else scenario[:1])
            script = tmp / f"{name}.lua"
            script.write_text(lua_script(scenario))
            wrk(port, script, clients[0], WARM_S)
            for count in clients:
                result = wrk(port, script, count, seconds)
                result["first_call_median_ms"] = first_ms
                found[f"{name}@{count}"] = result
                print(
                    f"workers {workers}  {name:<15} {count:>3} clients "
                    f"{result['requests_per_s']:>8.1f} req/s  p50 {result['p50_ms']:>7.2f} ms  "
                    f"p99 {result['p99_ms']:>7.2f} ms  errors "
                    f"{result['socket_errors'] + result['non_2xx']}",
                    flush=True,
                )
    finally:
        stop_server(server)
    for key, result in found.items():
        trivial = found.get(f"trivial_signed@{key.rpartition('@')[2]}")
        if trivial:
            share = result["requests_per_s"] / trivial["requests_per_s"]
            result["share_of_trivial"] = round(share, 3)
    return found


def print_table(results: dict[str, dict[str, Any]]) -> None:
    print("\n| workers | scenario | clients | req/s | p50 ms | p99 ms | share of trivial |")
    print("|---|---|---|---|---|---|---|")
    for workers, found in results.items():
        for key, r in found.items():
            name, _, clients = key.partition("@")
            share = r.get("share_of_trivial", 1)
            print(f"| {workers} | {name} | {clients} | {r['requests_per_s']:,.0f} | "
                  f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {share:.2f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured time per scenario")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="*", default=[], help="scenarios to run (and trivial)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run([str(ROOT / "scripts" / "debian-packages"), "wrk"], check=True)
    calls = scenarios(seed.generate(seed.Sizes.small()))
    if args.only:
        calls = {k: v for k, v in calls.items() if k in args.only or k == "trivial_signed"}
    else:  # the write changes the graph the next worker count would read: last, and apart
        calls.pop("save_pin")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="pingraph-bench-") as tmp:
        for workers in args.workers:
            results[str(workers)] = run_workers(workers, calls, args.clients, args.seconds,
                                                Path(tmp))  # fmt: skip
    print_table(results)
    save("graphql_api", {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "graph": "demo (pingraph seed --small: 200 users, 2,000 pins, 8,000 saves)",
        "server": "pingraph serve --workers N; embedded FalkorDB (AOF fsync always) and Redis",
        "load": "wrk -t1, keep-alive connections, on the same machine",
        "seconds_per_scenario": args.seconds,
        "results_by_workers": results,
    })  # fmt: skip


if __name__ == "__main__":
    main()
