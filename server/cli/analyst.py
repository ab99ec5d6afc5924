"""`pingraph cypher` and `pingraph export`: read-only Cypher from the command line, with
parameters, the query from a file or the named query library, and a readable table or
GraphML."""

from __future__ import annotations

import difflib
import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import networkx as nx
import orjson
import typer
from rich.console import Console
from rich.table import Table as RichTable

from domain.errors import BadInput
from graph.analyst import sandbox as analyst
from graph.analyst.library import DEFAULT_LIBRARY, LibraryQuery, load_library
from graph.analyst.notebook import graphml_ready, multidigraph
from graph.analyst.sandbox import Table
from server.cli.common import err, fail, run, settings_or_exit
from server.services import open_stores
from server.settings import Settings

CELL_CHARS = 60
# Left out of exports: a password credential is sealed, but an export is a file that travels.
UNEXPORTED_LABELS = frozenset({"Credential"})


async def run_query(
    settings: Settings, text: str, values: dict[str, Any], *, limit: int, timeout_ms: int
) -> Table:
    """The query run read-only against the graph store."""
    async with open_stores(settings) as stores:
        return await analyst.explore(
            stores.analyst, text, values, limit=limit, timeout_ms=timeout_ms,
            analyst=analyst_name(),
        )  # fmt: skip


def analyst_name() -> str:
    """Who runs CLI queries, for the query log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def statement(
    query: str | None,
    file: Path | None,
    name: str | None,
    library: Path | None,
    params: list[str] | None,
) -> tuple[str, dict[str, Any]]:
    """The query text and its parameters: from the command line, a file, or the library
    (whose `// params:` are defaults that --param overrides)."""
    if [query, file, name].count(None) != 2:
        raise BadInput("give a query, -f FILE (- for standard input) or --name NAME: one of them")
    values = parse_params(params or [])
    if name is None:
        return query_text(query, file), values
    chosen = library_query(library, name)
    return chosen.query, {**chosen.params, **values}


def query_text(query: str | None, file: Path | None) -> str:
    if file is None:
        assert query is not None
        return query
    source = "standard input" if str(file) == "-" else str(file)
    if str(file) == "-":
        text = sys.stdin.read()
    else:
        try:
            text = file.read_text()
        except OSError as error:
            raise BadInput(f"cannot read {file}: {error.strerror}") from None
    if analyst.several_statements(text):
        raise BadInput(
            f"{source} holds several statements, and a query runs one: for a library of named "
            "queries ('// name:' lines), run one with --name NAME [--library FILE]; --list "
            "shows the names"
        )
    return text


def library_path(library: Path | None) -> Path:
    if library is not None:
        return library
    if not DEFAULT_LIBRARY.is_file():
        raise BadInput(
            f"the query library is not installed here ({DEFAULT_LIBRARY}; the Docker image "
            "has no docs/): pass --library PATH, e.g. a copy of docs/analyst-queries.cypher"
        )
    return DEFAULT_LIBRARY


def library_query(library: Path | None, name: str) -> LibraryQuery:
    queries = {query.name: query for query in load_library(library_path(library))}
    if name in queries:
        return queries[name]
    close = difflib.get_close_matches(name, list(queries), n=3)
    maybe = f"did you mean {', '.join(close)}? " if close else ""
    listing = "pingraph cypher --list" + (f" --library {library}" if library else "")
    raise BadInput(f"no query named {name!r} in the library: {maybe}{listing} shows them all")


def library_listing(library: Path | None) -> str:
    """One line per named query: its name, description and default parameters."""
    queries = load_library(library_path(library))
    width = max(len(query.name) for query in queries)
    lines = []
    for query in queries:
        params = f"  params: {orjson.dumps(query.params).decode()}" if query.params else ""
        lines.append(f"{query.name:<{width}}  {query.description}{params}\n")
    return "".join(lines)


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
    returned = multidigraph(table)
    returned_nodes = returned.number_of_nodes()
    graph = graphml_ready(exportable(returned))
    if graph.number_of_nodes() == 0 and returned_nodes > 0:
        raise BadInput(
            "the query returned only nodes that exports leave out "
            f"({', '.join(sorted(UNEXPORTED_LABELS))}): there is nothing to export"
        )
    if graph.number_of_nodes() == 0:
        raise BadInput(
            f"the query returned no nodes ({len(table.rows):,} rows), so there is nothing to "
            "export: return nodes, relationships or paths (RETURN b or RETURN path, not "
            "RETURN b.name)"
        )
    if output is None:
        nx.write_graphml(graph, sys.stdout.buffer)
    else:
        nx.write_graphml(graph, output)
    return graph.number_of_nodes(), graph.number_of_edges()


def exportable(graph: nx.MultiDiGraph[str]) -> nx.MultiDiGraph[str]:
    """The graph without the nodes exports leave out (and their relationships)."""
    unexported = [
        node
        for node, labels in graph.nodes(data="labels")
        if UNEXPORTED_LABELS.intersection(labels or ())
    ]
    graph.remove_nodes_from(unexported)
    return graph


QueryArgument = Annotated[
    str | None, typer.Argument(help="The Cypher query (or use -f).", show_default=False)
]
FileOption = Annotated[
    Path | None,
    typer.Option("-f", "--file", help="Read the query from a file (- for standard input)."),
]
NameOption = Annotated[
    str | None,
    typer.Option("--name", help="Run a named query of the library, with its default params."),
]
LibraryOption = Annotated[
    Path | None,
    typer.Option(
        "--library",
        help="The query library for --name and --list (default: docs/analyst-queries.cypher).",
        show_default=False,
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A parameter as name=value (JSON values allowed)."),
]


def cypher(
    ctx: typer.Context,
    query: QueryArgument = None,
    file: FileOption = None,
    name: NameOption = None,
    param: ParamOption = None,
    list_library: Annotated[
        bool, typer.Option("--list", help="List the library's named queries.")
    ] = False,
    library: LibraryOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    limit: Annotated[
        int, typer.Option(min=1, max=analyst.MAX_LIMIT, help="Rows at most.")
    ] = analyst.DEFAULT_LIMIT,
    timeout_ms: Annotated[
        int, typer.Option(min=1, max=analyst.MAX_TIMEOUT_MS, help="Time limit.")
    ] = analyst.DEFAULT_TIMEOUT_MS,
) -> None:
    """Run a read-only Cypher query against the graph store (as POST /cypher does)."""
    if output_format not in ("table", "json", "csv"):
        fail("--format must be table, json or csv")
    if list_library:
        try:
            sys.stdout.write(library_listing(library))
        except BadInput as error:
            fail(str(error))
        return
    settings = settings_or_exit()

    async def go() -> None:
        text, values = statement(query, file, name, library, param)
        table = await run_query(settings, text, values, limit=limit, timeout_ms=timeout_ms)
        if output_format == "table":
            Console().print(rich_table(table))
            more = " (truncated: raise --limit)" if table.truncated else ""
            err.print(f"{len(table.rows):,} rows in {table.elapsed_ms:.0f} ms{more}",
                      highlight=False)  # fmt: skip
        else:
            sys.stdout.write(as_text(table, output_format))
            if table.truncated:
                err.print(f"truncated at {limit:,} rows: raise --limit", highlight=False)

    run(ctx, go())


def export(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Option("--query", help="The Cypher query.")] = None,
    file: FileOption = None,
    name: NameOption = None,
    param: ParamOption = None,
    library: LibraryOption = None,
    output_format: Annotated[str, typer.Option("--format", help="graphml.")] = "graphml",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=analyst.MAX_LIMIT, help="Rows at most.")
    ] = analyst.MAX_LIMIT,
) -> None:
    """Export the nodes and relationships a read-only query returns, as GraphML (Gephi,
    Cytoscape, yEd, networkx)."""
    if output_format != "graphml":
        fail("--format must be graphml")
    settings = settings_or_exit()

    async def go() -> None:
        text, values = statement(query, file, name, library, param)
        table = await run_query(
            settings, text, values, limit=limit, timeout_ms=analyst.MAX_TIMEOUT_MS
        )
        nodes, edges = write_graphml(table, output)
        more = f"; truncated at {limit:,} rows" if table.truncated else ""
        err.print(f"exported {nodes:,} nodes and {edges:,} relationships{more}",
                  highlight=False)  # fmt: skip

    run(ctx, go())
