"""What `pingraph cypher` and `pingraph export` need besides the query itself: parameters
from the command line, the query from a file, and a readable table."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import orjson
from rich.table import Table as RichTable

from graph import analyst
from graph.analysis import graphml_ready, multidigraph
from graph.analyst import Table
from graph.errors import BadInput
from server.services import open_services
from server.settings import Settings

CELL_CHARS = 60


async def run_query(
    settings: Settings,
    query: str | None,
    file: Path | None,
    params: list[str] | None,
    *,
    limit: int,
    timeout_ms: int,
) -> Table:
    """The query from the command line or a file, run read-only against the graph store."""
    text = query_text(query, file)
    values = parse_params(params or [])
    async with open_services(settings) as services:
        return await analyst.explore(
            services.graph, text, values, limit=limit, timeout_ms=timeout_ms,
            analyst=analyst_name(),
        )  # fmt: skip


def analyst_name() -> str:
    """Who runs CLI queries, for the query log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def query_text(query: str | None, file: Path | None) -> str:
    if (query is None) == (file is None):
        raise BadInput("give a query, or -f FILE (- for standard input), not both")
    if file is None:
        assert query is not None
        return query
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text()
    except OSError as error:
        raise BadInput(f"cannot read {file}: {error.strerror}") from None


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs; a value that parses as JSON is taken as JSON (numbers, lists,
    true, null), anything else as text: --param handle=demo --param n=5."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise BadInput(f"--param {pair!r}: write it as name=value")
        try:
            params[name] = orjson.loads(value)
        except orjson.JSONDecodeError:
            params[name] = value
    return params


def as_text(table: Table, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(table.as_json(), indent=2, ensure_ascii=False)
    return table.as_csv()


def rich_table(table: Table) -> RichTable:
    shown = RichTable(*table.columns, show_lines=False)
    for row in table.rows:
        shown.add_row(*(_cell(value) for value in row))
    return shown


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and value.get("kind") == "node":
        text = f"(:{':'.join(value['labels'])} {_props(value['properties'])})"
    elif isinstance(value, dict) and value.get("kind") == "relationship":
        text = f"[:{value['type']} {_props(value['properties'])}]"
    elif isinstance(value, dict) and value.get("kind") == "path":
        text = f"path of {len(value['relationships'])} relationships"
    elif isinstance(value, str):
        text = value
    else:
        text = orjson.dumps(value).decode()
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _props(properties: dict[str, Any]) -> str:
    return orjson.dumps(properties).decode() if properties else ""


def write_graphml(table: Table, output: Path | None) -> tuple[int, int]:
    graph = graphml_ready(multidigraph(table))
    if output is None:
        nx.write_graphml(graph, sys.stdout.buffer)
    else:
        nx.write_graphml(graph, output)
    return graph.number_of_nodes(), graph.number_of_edges()
