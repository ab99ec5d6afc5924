"""The interface both graph backends implement.

Repositories hand a backend one Cypher text per statement. Each call is one transaction:
Neo4j runs it in a managed transaction, FalkorDB executes a query atomically. Both pass
every statement's parameters through `check_params` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Protocol

from domain.errors import BadInput

Params = Mapping[str, Any]
Record = dict[str, Any]

# Lists and maps a parameter may nest; the drivers encode parameters recursively.
MAX_PARAM_DEPTH = 20
_SURROGATE = re.compile("[\ud800-\udfff]")


class Dialect(StrEnum):
    NEO4J = "neo4j"
    FALKORDB = "falkordb"


class GraphBackend(Protocol):
    dialect: Dialect

    async def read(
        self, query: str, params: Params | None = None, *, timeout_ms: int | None = None
    ) -> list[Record]:
        """Run a read-only statement and return its rows as dicts keyed by column."""
        ...

    async def write(self, query: str, params: Params | None = None) -> list[Record]:
        """Run a statement that may write, as one transaction."""
        ...

    async def ddl(self, statement: str) -> None:
        """Run a schema statement (index, constraint) in the backend's own syntax."""
        ...

    async def explore(
        self, query: str, params: Params, *, limit: int, timeout_ms: int
    ) -> tuple[list[str], list[list[Any]], bool]:
        """Run an analyst's query in the store's read-only mode: (columns, at most `limit`
        rows, whether there were more). Nodes, relationships and paths come back as dicts
        (`graph/rendering.py`). Errors in the query are BadInput, attempts to write
        WriteRefused (`graph/analyst/sandbox.py` checks the query first)."""
        ...

    async def ping(self) -> None:
        """Raise Unavailable unless the store answers."""
        ...

    async def close(self) -> None: ...


def check_params(params: Params | None) -> None:
    """Raise BadInput for parameters the drivers cannot send: text holding a NUL character
    (FalkorDB reads its parameter header as C text) or a lone surrogate (neither driver can
    encode one as UTF-8), and values nested more than MAX_PARAM_DEPTH lists or maps deep.
    Both backends call it on every statement's parameters, so such client input is refused
    as the client's mistake instead of failing in a driver."""
    if params:
        for name, value in params.items():
            if isinstance(value, str):
                # The common case: ASCII text without NUL (isascii() reads a flag) needs no call.
                if "\x00" in value or not value.isascii():
                    _check_text(value, name)
            elif isinstance(value, list | tuple | dict):
                _check_nested(value, name, 0)


def _check_nested(
    value: list[Any] | tuple[Any, ...] | dict[Any, Any], name: str, depth: int
) -> None:
    if depth >= MAX_PARAM_DEPTH:
        raise BadInput(f"${name}: values may nest at most {MAX_PARAM_DEPTH} lists or maps deep")
    items: Iterable[Any] = value
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str):
                _check_text(key, name)
        items = value.values()
    for item in items:
        if isinstance(item, str):
            if "\x00" in item or not item.isascii():
                _check_text(item, name)
        elif isinstance(item, list | tuple | dict):
            _check_nested(item, name, depth + 1)


def _check_text(text: str, name: str) -> None:
    if "\x00" in text or _SURROGATE.search(text):
        raise BadInput(
            f"${name}: text must not hold NUL characters or lone surrogates (U+D800-U+DFFF)"
        )
