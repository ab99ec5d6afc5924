"""FalkorDB must reach every repository statement's nodes through an index, never a scan.

Its planner ignores an index for a property map fed from UNWIND or a parameter when the
node sits inside a longer pattern; a `WITH` after the indexed match fixes the order. This
catches a statement that would scan every User, Board, Pin or Topic on a large graph.
"""

from __future__ import annotations

import re
import uuid

import pytest
import redis.asyncio as aioredis

from graph.backends.base import Dialect
from graph.backends.connect import open_backend
from graph.migrate import migrate
from server.embedded import Endpoints
from tests.utils.cypherlint import CLAUSE, MODULES, PARAM, neo4j_statements

SAMPLE = {
    "ids": "['x']",
    "topics": "[]",
    "rows": "[]",
    "optional": "{}",
    "limit": "5",
    "boards": "5",
    "keys": "[]",
    "after": "''",
    "afterKey": "null",
    "afterId": "null",
    "setDescription": "true",
    "setLink": "true",
    "replaceTopics": "true",
    "everything": "false",
    "k": "5",
    "vector": "[1.0]",
    "since": "0",
    "until": "0",
}
SMALL_LABELS = ("Migration",)  # a handful of nodes: a scan is the right plan


def repository_statements() -> list[tuple[str, str]]:
    found = [
        (name, text)
        for name, text in neo4j_statements()
        # The integrity checks read the whole graph on purpose (`pingraph doctor`).
        if name.startswith("graph.")
        and not name.endswith(f"[{Dialect.NEO4J}]")
        and not name.startswith("graph.integrity.")
    ]
    return [*found, *falkordb_texts()]


def falkordb_texts() -> list[tuple[str, str]]:
    """The FalkorDB text of every statement written once per dialect (search, visual), each
    once (pins.py imports the search texts from dialect.py, listed after it)."""
    names: dict[str, str] = {}
    for module in MODULES:
        for name, texts in vars(module).items():
            text = texts.get(Dialect.FALKORDB) if isinstance(texts, dict) else None
            if name.isupper() and isinstance(text, str) and CLAUSE.match(text):
                names[text] = f"{module.__name__}.{name}[{Dialect.FALKORDB}]"
    return [(name, text) for text, name in names.items()]


@pytest.mark.parametrize(("name", "statement"), repository_statements())
async def test_no_statement_scans_a_large_label(
    embedded: Endpoints, name: str, statement: str
) -> None:
    graph = f"plans_{uuid.uuid4().hex[:8]}"
    backend = await open_backend(embedded.graph_url, database=graph)
    await migrate(backend)
    await backend.close()
    params = sorted(set(PARAM.findall(statement)))
    header = "CYPHER " + " ".join(f"{p}={SAMPLE.get(p, repr('x'))}" for p in params) + " "
    client = aioredis.Redis(port=embedded.graph_port, password=embedded.password)
    try:
        plan = await client.execute_command("GRAPH.EXPLAIN", graph, header + statement)
        await client.execute_command("GRAPH.DELETE", graph)
    finally:
        await client.aclose()
    lines = [line.decode().strip() for line in plan]
    scans = [
        line
        for line in lines
        if re.search(r"Label Scan|All Node Scan", line)
        and not any(f":{label})" in line for label in SMALL_LABELS)
    ]
    assert scans == [], f"{name} plans a scan:\n" + "\n".join(lines)
