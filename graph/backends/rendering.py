"""Values of an analyst's query as JSON: one shape for both stores' nodes, relationships and
paths, so that clients (and the pandas/networkx helpers) never see a driver's types.

    node:         {"kind": "node", "id", "labels": [...], "properties": {...}}
    relationship: {"kind": "relationship", "id", "type", "start", "end", "properties": {...}}
    path:         {"kind": "path", "nodes": [...], "relationships": [...]}

Ids are the store's own (Neo4j element ids, FalkorDB integer ids as text): they identify an
entity within one answer, not across stores. Dates and times become ISO-8601 text.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

import falkordb
import neo4j.graph
import neo4j.spatial
import neo4j.time


def render(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN or infinity
    if isinstance(value, neo4j.graph.Node):
        return _node(value.element_id, value.labels, dict(value))
    if isinstance(value, neo4j.graph.Relationship):
        start, end = value.start_node, value.end_node
        return _relationship(
            value.element_id, value.type, start.element_id if start else None,
            end.element_id if end else None, dict(value),
        )  # fmt: skip
    if isinstance(value, neo4j.graph.Path):
        return _path(value.nodes, value.relationships)
    if isinstance(value, falkordb.Node):
        return _node(str(value.id), value.labels or [], value.properties)
    if isinstance(value, falkordb.Edge):
        return _relationship(
            str(value.id), value.relation, _falkor_id(value.src_node),
            _falkor_id(value.dest_node), value.properties,
        )  # fmt: skip
    if isinstance(value, falkordb.Path):
        return _path(value.nodes(), value.edges())
    if isinstance(value, Mapping):
        return {str(key): render(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item) for item in value]
    if isinstance(value, neo4j.spatial.Point):
        return {"srid": value.srid, "coordinates": list(value)}
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, datetime.date | datetime.time | neo4j.time.Date | neo4j.time.DateTime
                  | neo4j.time.Time):  # fmt: skip
        return value.isoformat()
    return str(value)  # durations and anything newer: readable text


def _node(node_id: str, labels: Any, properties: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": "node",
        "id": node_id,
        "labels": sorted(labels),
        "properties": {key: _property(key, item) for key, item in properties.items()},
    }


def _property(key: str, value: Any) -> Any:
    # A pin's image embedding is 1,280 floats: in a whole node it is summarised, so tables
    # and exports stay readable; `RETURN p.embedding` still answers the numbers.
    if key == "embedding" and isinstance(value, list | tuple):
        return f"<vector of {len(value)} floats>"
    return render(value)


def _relationship(
    rel_id: str, kind: str, start: str | None, end: str | None, properties: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "kind": "relationship",
        "id": rel_id,
        "type": kind,
        "start": start,
        "end": end,
        "properties": {key: render(item) for key, item in properties.items()},
    }


def _path(nodes: Any, relationships: Any) -> dict[str, Any]:
    return {
        "kind": "path",
        "nodes": [render(node) for node in nodes],
        "relationships": [render(rel) for rel in relationships],
    }


def _falkor_id(node: Any) -> str:
    return str(node.id if isinstance(node, falkordb.Node) else node)
