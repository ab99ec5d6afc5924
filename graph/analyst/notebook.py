"""Notebook helpers: analyst query answers as pandas DataFrames and networkx graphs.

    from graph.analyst.notebook import CypherClient
    with CypherClient("http://127.0.0.1:8000", token) as cypher:
        frame = cypher.dataframe("MATCH (b:Board)<-[:SAVED_TO]-(p) RETURN b.name AS board, "
                                 "count(p) AS saves ORDER BY saves DESC LIMIT $n", n=10)
        graph = cypher.graph("MATCH path = (:User {handle: $h})-[:OWNS]->(:Board) "
                             "RETURN path", h="demo", row_limit=5000)

Keyword arguments are the query's parameters (`n=10` is `$n`, `limit=5` is `$limit`), except
the client's own, `row_limit`, `timeout_ms` and `expand`. An answer cut at `row_limit` rows
warns with `TruncatedWarning`.

`dataframe` and `multidigraph` also take a `Table` from `graph.analyst.explore`, or the JSON
answer of `POST /cypher`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any, Self

import httpx
import networkx as nx
import pandas as pd

from graph.analyst.sandbox import DEFAULT_LIMIT, DEFAULT_TIMEOUT_MS, MAX_LIMIT, Table


class CypherError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class TruncatedWarning(UserWarning):
    """The query had more rows than `row_limit`: only the first ones came back."""


class CypherClient:
    """`POST /cypher` with an analyst token; `close()` it, or use it in a `with` block."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 70.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )

    def run(
        self,
        query: str,
        /,
        *,
        row_limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        **params: Any,
    ) -> Table:
        """The answer as a `Table`: at most `row_limit` rows (up to 10,000), within
        `timeout_ms` (up to 60,000); every other keyword is a query parameter."""
        table = self._post(query, params, row_limit, timeout_ms)
        _warn_if_truncated(table)
        return table

    def dataframe(
        self,
        query: str,
        /,
        *,
        expand: bool = True,
        row_limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        **params: Any,
    ) -> pd.DataFrame:
        table = self._post(query, params, row_limit, timeout_ms)
        _warn_if_truncated(table)
        return dataframe(table, expand=expand)

    def graph(
        self,
        query: str,
        /,
        *,
        row_limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        **params: Any,
    ) -> nx.MultiDiGraph[str]:
        table = self._post(query, params, row_limit, timeout_ms)
        _warn_if_truncated(table)
        return multidigraph(table)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, query: str, params: dict[str, Any], row_limit: int, timeout_ms: int) -> Table:
        body = {"query": query, "params": params, "limit": row_limit, "timeoutMs": timeout_ms}
        response = self.http.post("/cypher", json=body)
        answer = response.json()
        if response.status_code != 200:
            error = answer.get("error", {})
            raise CypherError(error.get("code", str(response.status_code)), error.get("message"))
        return table_of(answer)


def _warn_if_truncated(table: Table) -> None:
    if table.truncated:
        warnings.warn(
            f"the query had more rows than row_limit: only the first {len(table.rows):,} "
            f"came back; pass row_limit= (up to {MAX_LIMIT:,}) for more, or add LIMIT to "
            "the query",
            TruncatedWarning,
            stacklevel=3,  # the caller of run(), dataframe() or graph()
        )


def table_of(answer: Table | dict[str, Any]) -> Table:
    if isinstance(answer, Table):
        return answer
    return Table(
        answer["columns"], answer["rows"], answer["truncated"], answer.get("elapsedMs", 0.0)
    )


def dataframe(answer: Table | dict[str, Any], *, expand: bool = True) -> pd.DataFrame:
    """One column per returned column. With `expand`, a column of nodes or relationships
    becomes one column per property (`p.title`, ...), plus `p.labels` or `r.type`."""
    table = table_of(answer)
    frame = pd.DataFrame(table.rows, columns=table.columns)
    if not expand:
        return frame
    pieces = []
    for column in table.columns:
        values = frame[column]
        kinds = {value.get("kind") for value in values if isinstance(value, dict)}
        entities = kinds in ({"node"}, {"relationship"}) and all(
            value is None or isinstance(value, dict) for value in values
        )
        if not entities:
            pieces.append(values.to_frame())
            continue
        described = "labels" if kinds == {"node"} else "type"
        expanded = pd.DataFrame(
            [
                {described: value[described], **value["properties"]} if value else {}
                for value in values
            ],
            index=frame.index,
        )
        pieces.append(expanded.add_prefix(f"{column}."))
    return pd.concat(pieces, axis=1)


def multidigraph(answer: Table | dict[str, Any]) -> nx.MultiDiGraph[str]:
    """Every node and relationship anywhere in the answer (in paths, lists and maps too).
    Nodes are keyed by their store id, with `labels` and their properties; edges carry
    `type` and their properties, keyed by the relationship id."""
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for value in _entities(table_of(answer).rows):
        if value["kind"] == "node":
            graph.add_node(value["id"], labels=value["labels"], **value["properties"])
        else:
            graph.add_edge(
                value["start"], value["end"], key=value["id"], type=value["type"],
                **value["properties"],
            )  # fmt: skip
    return graph


def _entities(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        kind = value.get("kind")
        if kind in ("node", "relationship") and "properties" in value:
            yield value
        elif kind == "path":
            yield from _entities(value["nodes"])
            yield from _entities(value["relationships"])
        else:
            for item in value.values():
                yield from _entities(item)
    elif isinstance(value, list):
        for item in value:
            yield from _entities(item)


def graphml_ready(graph: nx.MultiDiGraph[str]) -> nx.MultiDiGraph[str]:
    """A copy GraphML can hold: lists and maps as JSON text, labels joined by ':', no None."""
    ready: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for node, data in graph.nodes(data=True):
        ready.add_node(node, **_scalars(data))
    for start, end, key, data in graph.edges(keys=True, data=True):
        ready.add_edge(start, end, key=key, **_scalars(data))
    return ready


def _scalars(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            continue
        if name == "labels" and isinstance(value, list):
            out[name] = ":".join(value)
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            out[name] = json.dumps(value, sort_keys=True)
    return out
