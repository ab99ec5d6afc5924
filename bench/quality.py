"""Related-pins quality on a planted-topic graph: the walk's settings against the baselines.

    .venv/bin/python bench/quality.py [--users 10000 --pins 100000 --saves 600000]
        [--noise 0.1] [--queries 100] [--skip-cypher] [--demo | --demo-url URL]

The demo generator (graph/demo/seed.py) plants a topic in every pin (its first; one pin in
five has a second tag) and saves mostly on-topic pins to each board, with a share of
off-topic noise that favours popular pins. A related pin is right when its planted topic is
the query pin's: precision@20 is the share of the top 20 that are. Query pins are sampled
in three popularity buckets (public saves): ordinary pins, the top 1% (without the top
0.1%), and the top 0.1%. For each bucket:
- the walk (100,000 steps, `POST /walks/related`'s default) with each pruning and scoring
  option of walks/graph.py and walks/engine.py, alone and combined, and the service's
  defaults;
- exact personalised PageRank (scipy power iteration on the unpruned public graph, restart
  1 - sqrt(0.5) per edge = 0.5 per pin-to-pin hop as in the walk; checked against networkx
  on one query);
- the Cypher two-hop query (co-saved pins by shared boards) in embedded FalkorDB;
- plain popularity (the 20 most saved pins).
Also: each method's top-20 overlap with PageRank, Pixie's language-bias test (share of
results in a target language, without and with `bias.lang`), and early stopping's time
saved and top-20 overlap. `--demo` measures the demo through GraphQL instead: how often a
demo pin's related pins share a topic with it, against random pairs (`--demo-url` measures
a server that is already running, such as an older version).
Prints tables and saves bench/results/quality.json (or quality_demo.json).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # see bench/common.py

import argparse
import asyncio
import math
import random
import statistics
import tempfile
import time
from dataclasses import replace
from typing import Any

import httpx
import networkx as nx
import numpy as np
from common import TWO_HOP, edges_in_falkordb, free_port, save, start_server, stop_server
from scipy import sparse

from graph.demo import seed
from walks.build import DEFAULT_MAX_BOARD_ENTROPY, DEFAULT_PRUNE_DELTA
from walks.engine import DEFAULT_DEGREE_POWER, Query, WalkEngine
from walks.graph import WalkGraph
from walks.planted import Planted, planted

STEPS = 100_000
TOP = 20
BUCKETS = ("ordinary", "top 1%", "top 0.1%")

# name -> (walk graph build options, degree power). Each option alone, then together.
WALK_SETTINGS: dict[str, tuple[dict[str, Any], float]] = {
    "walk, no pruning (before)": ({}, 0.0),
    "delta 0.9, random boards kept": ({"prune_delta": 0.9, "topic_aware": False}, 0.0),
    "delta 0.9, most similar boards kept": ({"prune_delta": 0.9}, 0.0),
    "board entropy <= 2 bits": ({"max_board_entropy": 2.0}, 0.0),
    "board entropy <= 1 bit": ({"max_board_entropy": 1.0}, 0.0),
    "degree power 0.5": ({}, 0.5),
    "degree power 1": ({}, 1.0),
    "delta 0.8, most similar boards kept": ({"prune_delta": 0.8}, 0.0),
    "entropy 2 + delta 0.7": ({"max_board_entropy": 2.0, "prune_delta": 0.7}, 0.0),
    "entropy 2 + delta 0.8": ({"max_board_entropy": 2.0, "prune_delta": 0.8}, 0.0),
    "entropy 2 + delta 0.9": ({"max_board_entropy": 2.0, "prune_delta": 0.9}, 0.0),
    "entropy 2 + delta 0.95": ({"max_board_entropy": 2.0, "prune_delta": 0.95}, 0.0),
    "entropy 1.5 + delta 0.9": ({"max_board_entropy": 1.5, "prune_delta": 0.9}, 0.0),
    "entropy 2.5 + delta 0.9": ({"max_board_entropy": 2.5, "prune_delta": 0.9}, 0.0),
    "entropy 2.5 + delta 0.8": ({"max_board_entropy": 2.5, "prune_delta": 0.8}, 0.0),
    "entropy 3 + delta 0.8": ({"max_board_entropy": 3.0, "prune_delta": 0.8}, 0.0),
    "entropy 2 + delta 0.9 + power 0.5": (
        {"max_board_entropy": 2.0, "prune_delta": 0.9}, 0.5),
    "defaults (the service's)": (
        {"max_board_entropy": DEFAULT_MAX_BOARD_ENTROPY, "prune_delta": DEFAULT_PRUNE_DELTA},
        DEFAULT_DEGREE_POWER),
}  # fmt: skip
DEFAULTS = "defaults (the service's)"


def build(source: Planted, options: dict[str, Any]) -> WalkGraph:
    return source.build(**options)


def sample(source: Planted, count: int, rng: random.Random) -> dict[str, list[str]]:
    return {
        name: sorted(rng.sample(pins, min(count, len(pins))))
        for name, pins in source.buckets().items()
    }


def walk_tops(
    graph: WalkGraph, queries: list[str], power: float, steps: int = STEPS
) -> tuple[dict[str, list[str]], float]:
    engine = WalkEngine(graph, threads=1)
    tops = {}
    started = time.perf_counter()
    for pin in queries:
        result = engine.run_sync(
            Query(pins={pin: 1.0}, steps=steps, top_k=TOP, seed=1, degree_power=power)
        )
        tops[pin] = [hit.pin_id for hit in result.items]
    engine.close()
    return tops, (time.perf_counter() - started) / len(queries) * 1000


def ppr_tops(source: Planted, queries: list[str]) -> tuple[dict[str, list[str]], float]:
    """Exact personalised PageRank by power iteration, all queries at once."""
    pins, boards = len(source.pin_ids), len(source.board_ids)
    rows = np.concatenate([source.edge_pins, pins + source.edge_boards])
    cols = np.concatenate([pins + source.edge_boards, source.edge_pins])
    adjacency = sparse.csr_array(
        (np.ones(len(rows)), (rows, cols)), shape=(pins + boards, pins + boards)
    )
    adjacency.data[:] = 1.0  # a pin saved twice to a board is one edge, as in the walk
    degree = np.asarray(adjacency.sum(axis=0)).ravel()
    transition = adjacency @ sparse.diags_array(1.0 / np.maximum(degree, 1))  # stochastic
    alpha = math.sqrt(0.5)
    index = {pin: n for n, pin in enumerate(source.pin_ids)}
    restart = np.zeros((pins + boards, len(queries)))
    restart[[index[pin] for pin in queries], np.arange(len(queries))] = 1.0
    started = time.perf_counter()
    ranks = restart.copy()
    for _ in range(200):
        following = alpha * (transition @ ranks) + (1 - alpha) * restart
        change = np.abs(following - ranks).sum(axis=0).max()
        ranks = following
        if change < 1e-10:
            break
    elapsed_ms = (time.perf_counter() - started) / len(queries) * 1000
    tops = {}
    for column, pin in enumerate(queries):
        scores = ranks[:pins, column].copy()
        scores[index[pin]] = -1.0
        best = np.argsort(-scores, kind="stable")[:TOP]
        tops[pin] = [source.pin_ids[n] for n in best if scores[n] > 0]
    return tops, elapsed_ms


def networkx_check(source: Planted, pin: str, ours: list[str]) -> dict[str, Any]:
    """networkx's pagerank for one query pin, against the power iteration's top 20."""
    bipartite = nx.Graph()
    bipartite.add_edges_from(
        (source.pin_ids[p], "b" + source.board_ids[b])
        for p, b in zip(source.edge_pins.tolist(), source.edge_boards.tolist(), strict=True)
    )
    started = time.perf_counter()
    ranks = nx.pagerank(bipartite, alpha=math.sqrt(0.5), personalization={pin: 1.0}, tol=1e-12)
    elapsed = time.perf_counter() - started
    theirs = [node for node, _ in sorted(ranks.items(), key=lambda kv: -kv[1])
              if not node.startswith("b") and node != pin][:TOP]  # fmt: skip
    return {"networkx_ms": round(elapsed * 1000), "top20_overlap": overlap(ours, theirs)}


async def cypher_tops(
    source: Planted, queries: list[str], tmp: Path
) -> tuple[dict[str, list[str]], float]:
    edges = list(zip(source.edge_pins.tolist(), source.edge_boards.tolist(), strict=True))
    falkordb = edges_in_falkordb(tmp / "falkor", source.pin_ids, source.board_ids, edges)
    async with falkordb as (backend, _):
        tops = {}
        started = time.perf_counter()
        for pin in queries:
            tops[pin] = [row["id"] for row in await backend.read(TWO_HOP, {"id": pin})]
        elapsed_ms = (time.perf_counter() - started) / len(queries) * 1000
    return tops, elapsed_ms


def popularity_tops(source: Planted, queries: list[str]) -> dict[str, list[str]]:
    ranked = sorted(source.degree, key=lambda pin: (-source.degree[pin], pin))[: TOP + 1]
    return {pin: [other for other in ranked if other != pin][:TOP] for pin in queries}


def overlap(a: list[str], b: list[str]) -> float:
    return len(set(a) & set(b)) / TOP


def by_bucket(
    source: Planted,
    buckets: dict[str, list[str]],
    tops: dict[str, list[str]],
    reference: dict[str, list[str]] | None = None,
) -> dict[str, dict[str, float]]:
    report = {}
    for name in BUCKETS:
        pins = buckets[name]
        row = {"precision_at_20": statistics.fmean(source.precision(p, tops[p]) for p in pins)}
        if reference is not None:
            row["ppr_top20_overlap"] = statistics.fmean(
                overlap(tops[p], reference[p]) for p in pins
            )
        row["empty"] = sum(not tops[p] for p in pins)
        report[name] = {key: round(value, 3) for key, value in row.items()}
    return report


def language_bias(source: Planted, graph: WalkGraph, count: int, rng: random.Random) -> dict:
    """Pixie's Table 3: the share of results in a target language, without and with bias."""
    langs = sorted({lang for lang in source.lang.values() if lang != "en"})
    pins = rng.sample(source.pin_ids, count)
    engine = WalkEngine(graph, threads=1)
    shares: dict[str, list[float]] = {"without": [], "with": []}
    for number, pin in enumerate(pins):
        target = langs[number % len(langs)]
        for name, lang in (("without", None), ("with", target)):
            query = Query(pins={pin: 1.0}, steps=STEPS, top_k=TOP, seed=1, lang=lang,
                          degree_power=DEFAULT_DEGREE_POWER)  # fmt: skip
            result = engine.run_sync(query)
            found = [hit.pin_id for hit in result.items]
            if found:
                shares[name].append(sum(source.lang[p] == target for p in found) / len(found))
    engine.close()
    return {
        "queries": count,
        "target_languages": langs,
        "share_without_bias": round(statistics.fmean(shares["without"]), 3),
        "share_with_bias": round(statistics.fmean(shares["with"]), 3),
    }


def early_stopping(graph: WalkGraph, pins: list[str]) -> dict[str, float]:
    """Pixie's early stopping (n_p 2000, n_v 4) against full walks: time and top-20 overlap."""
    engine = WalkEngine(graph, threads=1)
    full_s = early_s = 0.0
    overlaps, steps, stopped = [], [], 0
    for pin in pins:
        base = Query(pins={pin: 1.0}, steps=STEPS, top_k=TOP, seed=1,
                     degree_power=DEFAULT_DEGREE_POWER)  # fmt: skip
        started = time.perf_counter()
        full = engine.run_sync(base)
        full_s += time.perf_counter() - started
        started = time.perf_counter()
        early = engine.run_sync(replace(base, early_np=2000, early_nv=4))
        early_s += time.perf_counter() - started
        overlaps.append(overlap([h.pin_id for h in full.items], [h.pin_id for h in early.items]))
        steps.append(early.steps_taken)
        stopped += early.stopped_early
    engine.close()
    return {
        "queries": len(pins),
        "stopped_early": stopped,
        "time_saved": round(1 - early_s / full_s, 3),
        "top20_overlap": round(statistics.fmean(overlaps), 3),
        "mean_steps_taken": round(statistics.fmean(steps)),
    }


def table(rows: dict[str, dict[str, dict[str, float]]], key: str) -> None:
    print(f"\n{key} by query pin popularity")
    print(f"{'method':42}" + "".join(f"{name:>12}" for name in BUCKETS))
    for method, report in rows.items():
        cells = "".join(f"{report[name].get(key, float('nan')):>12.3f}" for name in BUCKETS)
        print(f"{method:42}{cells}")


async def planted_run(args: argparse.Namespace) -> None:
    sizes = seed.Sizes(users=args.users, pins=args.pins, saves=args.saves)
    started = time.perf_counter()
    generated = seed.generate(sizes, args.seed, seed.Shape(noise=args.noise))
    source = planted(generated)
    print(f"planted graph: {len(source.pin_ids):,} pins, {len(source.board_ids):,} public "
          f"boards, {len(source.edge_pins):,} public saves, noise {args.noise} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    rng = random.Random(args.seed)
    buckets = sample(source, args.queries, rng)
    queries = sorted({pin for pins in buckets.values() for pin in pins})
    degree = {name: statistics.fmean(source.degree[p] for p in buckets[name]) for name in BUCKETS}
    print("mean public saves of the query pins:",
          {name: round(value, 1) for name, value in degree.items()}, flush=True)  # fmt: skip

    ppr, ppr_ms = ppr_tops(source, queries)
    check = networkx_check(source, buckets["top 0.1%"][0], ppr[buckets["top 0.1%"][0]])
    print(f"exact PPR: {ppr_ms:.1f} ms per query (batched); networkx agrees on "
          f"{check['top20_overlap']:.0%} of one top 20", flush=True)  # fmt: skip
    methods: dict[str, dict[str, dict[str, float]]] = {}
    timings: dict[str, float] = {"exact_ppr_ms_batched": round(ppr_ms, 2), **{
        "networkx_ppr_ms_one_query": check["networkx_ms"]}}  # fmt: skip
    graphs: dict[str, dict[str, Any]] = {}
    for name, (options, power) in WALK_SETTINGS.items():
        graph = build(source, options)
        graphs[name] = {"edges": graph.edges, **graph.stats}
        tops, ms = walk_tops(graph, queries, power)
        methods[name] = by_bucket(source, buckets, tops, ppr)
        timings[f"walk_ms: {name}"] = round(ms, 2)
        print(f"{name}: {methods[name]}", flush=True)
    default_graph = build(source, WALK_SETTINGS[DEFAULTS][0])
    tops, ms = walk_tops(default_graph, queries, DEFAULT_DEGREE_POWER, steps=30_000)
    methods["defaults, 30,000 steps (GraphQL related)"] = by_bucket(source, buckets, tops, ppr)
    methods["exact personalised PageRank"] = by_bucket(source, buckets, ppr, ppr)
    if not args.skip_cypher:
        with tempfile.TemporaryDirectory(prefix="pingraph-quality-") as tmp:
            cypher, cypher_ms = await cypher_tops(source, queries, Path(tmp))
        methods["Cypher two-hop"] = by_bucket(source, buckets, cypher, ppr)
        timings["cypher_two_hop_ms"] = round(cypher_ms, 1)
    methods["plain popularity"] = by_bucket(source, buckets, popularity_tops(source, queries), ppr)
    table(methods, "precision_at_20")
    table(methods, "ppr_top20_overlap")
    bias = language_bias(source, default_graph, args.queries * 2, rng)
    print(f"\nlanguage bias: share in the target language {bias['share_without_bias']:.0%} "
          f"without, {bias['share_with_bias']:.0%} with")  # fmt: skip
    stopping = early_stopping(default_graph, queries)
    print(f"early stopping (np 2000, nv 4): {stopping}")
    save(args.save_as or "quality", {
        "graph": {"users": args.users, "pins": args.pins, "saves": args.saves,
                  "noise": args.noise, "public_saves": len(source.edge_pins),
                  "query_pins_per_bucket": args.queries,
                  "mean_public_saves": {k: round(v, 1) for k, v in degree.items()}},
        "methods": methods, "walk_graphs": graphs, "timings": timings,
        "networkx_check": check, "language_bias": bias, "early_stopping": stopping,
    })  # fmt: skip


FIELDS = "id topics { name } related(first: 20) { id topics { name } }"


TOPIC_PAGE = """query Page($name: String!, $after: String) { topic(name: $name) {
  pins(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
} }"""


def demo_pin_ids(client: httpx.Client) -> list[str]:
    """Every pin of the demo's topics, read through GraphQL (so that any version of the
    server and its demo can be measured)."""
    ids: set[str] = set()
    for name in seed.TOPICS:
        after = None
        while True:
            page = {"query": TOPIC_PAGE, "variables": {"name": name, "after": after}}
            answer = client.post("/graphql", json=page).json()
            topic = answer["data"]["topic"]
            if topic is None:
                break
            ids.update(edge["node"]["id"] for edge in topic["pins"]["edges"])
            if not topic["pins"]["pageInfo"]["hasNextPage"]:
                break
            after = topic["pins"]["pageInfo"]["endCursor"]
    return sorted(ids)


def demo_run(url: str) -> dict[str, Any]:
    """How often the demo pins' related pins (GraphQL `related`, first 20) share a topic
    with them, against random pairs of demo pins."""
    topics: dict[str, set[str]] = {}
    pairs = shared = asked = answered = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        ids = demo_pin_ids(client)
        for start in range(0, len(ids), 10):
            aliases = " ".join(f'p{n}: pin(id: "{pin}") {{ {FIELDS} }}'
                               for n, pin in enumerate(ids[start : start + 10]))  # fmt: skip
            answer = client.post("/graphql", json={"query": f"{{ {aliases} }}"}).json()
            if answer.get("errors"):
                raise SystemExit(f"GraphQL errors: {answer['errors'][:2]}")
            for pin in answer["data"].values():
                if pin is None:
                    continue
                asked += 1
                mine = {topic["name"] for topic in pin["topics"]}
                topics[pin["id"]] = mine
                answered += bool(pin["related"])
                for other in pin["related"]:
                    pairs += 1
                    shared += bool(mine & {topic["name"] for topic in other["topics"]})
    rng = random.Random(1)
    known = sorted(topics)
    random_pairs = [rng.sample(known, 2) for _ in range(100_000)]
    baseline = statistics.fmean(bool(topics[a] & topics[b]) for a, b in random_pairs)
    return {
        "pins": asked,
        "pins_with_related": answered,
        "related_pairs": pairs,
        "related_share_a_topic": round(shared / max(1, pairs), 3),
        "random_pairs_share_a_topic": round(baseline, 3),
    }


def demo(args: argparse.Namespace) -> None:
    if args.demo_url:
        report = demo_run(args.demo_url)
    else:
        with tempfile.TemporaryDirectory(prefix="pingraph-quality-demo-") as tmp:
            port = free_port()
            server = start_server(Path(tmp), port)
            try:
                report = demo_run(f"http://127.0.0.1:{port}")
            finally:
                stop_server(server)
    print(f"demo through GraphQL: over {report['pins_with_related']:,} pins with related pins "
          f"({report['related_pairs']:,} pairs), {report['related_share_a_topic']:.0%} of "
          f"related pins share a topic with their pin; random pairs "
          f"{report['random_pairs_share_a_topic']:.0%}")  # fmt: skip
    save(args.save_as or "quality_demo", report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--pins", type=int, default=100_000)
    parser.add_argument("--saves", type=int, default=600_000)
    parser.add_argument("--noise", type=float, default=seed.Shape().noise)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=100, help="query pins per bucket")
    parser.add_argument("--skip-cypher", action="store_true")
    parser.add_argument("--demo", action="store_true", help="measure the demo via GraphQL")
    parser.add_argument("--demo-url", help="measure this running demo server instead")
    parser.add_argument("--save-as", help="results file name (quality, quality_demo)")
    args = parser.parse_args()
    if args.demo or args.demo_url:
        demo(args)
    else:
        asyncio.run(planted_run(args))


if __name__ == "__main__":
    main()
