"""FalkorDB backend, through the async `falkordb` client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio
import redis.exceptions
from falkordb.asyncio import FalkorDB
from falkordb.asyncio.query_result import QueryResult
from falkordb.helpers import stringify_param_value

from domain.errors import BadInput, Conflict, Unavailable, WriteRefused
from graph.backends.base import Dialect, Params, Record, check_params
from graph.backends.rendering import render

DEFAULT_GRAPH = "pingraph"
MAX_CONNECTIONS = 64


class FalkorBackend:
    dialect = Dialect.FALKORDB

    def __init__(self, db: Any, *, graph: str | None = None, timeout_ms: int = 10_000) -> None:
        self._db = db
        self.name = graph or DEFAULT_GRAPH
        self._graph = db.select_graph(self.name)
        self._timeout_ms = timeout_ms

    @classmethod
    async def connect(
        cls, url: str, *, graph: str | None = None, timeout_ms: int = 10_000
    ) -> FalkorBackend:
        parts = urlsplit(url)

        def make_client() -> Any:
            # A blocking pool: under load a query waits for a free connection instead of
            # failing with "too many connections". The client probes for cluster mode with a
            # blocking call in its constructor, hence the thread.
            pool = redis.asyncio.BlockingConnectionPool(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 6379,
                username=parts.username,
                password=parts.password,
                max_connections=MAX_CONNECTIONS,
                timeout=timeout_ms / 1000,
                # Above the longest analyst query (60 s), whose limit the store enforces.
                socket_timeout=max(timeout_ms / 1000 * 2, 65),
                socket_connect_timeout=5,
            )
            return FalkorDB(connection_pool=pool)

        try:
            db = await asyncio.to_thread(make_client)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            where = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"  # not the password
            raise Unavailable(f"the graph store does not answer at {where}") from error
        return cls(db, graph=graph, timeout_ms=timeout_ms)

    async def read(
        self, query: str, params: Params | None = None, *, timeout_ms: int | None = None
    ) -> list[Record]:
        timeout = timeout_ms or self._timeout_ms
        return await self._run(query, params, read_only=True, timeout_ms=timeout)

    async def write(self, query: str, params: Params | None = None) -> list[Record]:
        return await self._run(query, params, read_only=False, timeout_ms=self._timeout_ms)

    async def explore(
        self, query: str, params: Params, *, limit: int, timeout_ms: int
    ) -> tuple[list[str], list[list[Any]], bool]:
        def translate(error: redis.exceptions.ResponseError) -> Exception:
            return _analyst_error(error, timeout_ms)

        reply = await self._reply(
            query, params, read_only=True, timeout_ms=timeout_ms, translate=translate
        )
        if reply is None:
            return [], [], False
        columns = [_column_name(column) for column in reply[0]]
        result = QueryResult(self._graph)
        await result.parse(reply)
        rows = [[render(value) for value in row] for row in result.result_set[:limit]]
        return columns, rows, len(result.result_set) > limit

    async def ddl(self, statement: str) -> None:
        """Run a schema statement; one that already took effect is not an error."""
        try:
            if statement.upper().startswith("GRAPH.CONSTRAINT"):
                # Constraints are a module command, not Cypher: GRAPH.CONSTRAINT CREATE <graph> ...
                words = statement.split()
                await self._db.connection.execute_command(words[0], words[1], self.name, *words[2:])
            else:
                await self._graph.query(statement)
        except redis.exceptions.ConnectionError as error:
            raise Unavailable("the graph store does not answer") from error
        except redis.exceptions.ResponseError as error:
            if "already" not in str(error).lower():
                raise

    async def ping(self) -> None:
        try:
            await self._db.connection.ping()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            raise Unavailable("the graph store does not answer") from error

    async def close(self) -> None:
        connection = self._db.connection
        await connection.aclose()
        await connection.connection_pool.disconnect()  # a pool passed in is not closed with it

    async def _run(
        self, query: str, params: Params | None, *, read_only: bool, timeout_ms: int
    ) -> list[Record]:
        reply = await self._reply(
            query, params, read_only=read_only, timeout_ms=timeout_ms, translate=_translate
        )
        if reply is None:
            return []
        header, rows = reply[0], reply[1]
        columns = [_column_name(column) for column in header]
        try:
            return [dict(zip(columns, map(_value, row), strict=True)) for row in rows]
        except _NotPlain:
            # Nodes, relationships and paths need the client's schema-aware parser.
            result = QueryResult(self._graph)
            await result.parse(reply)
            return [dict(zip(columns, row, strict=True)) for row in result.result_set]

    async def _reply(
        self,
        query: str,
        params: Params | None,
        *,
        read_only: bool,
        timeout_ms: int,
        translate: Callable[[redis.exceptions.ResponseError], Exception],
    ) -> list[Any] | None:
        """The compact reply with its header and rows; None when the statement returns
        nothing. Query errors go through `translate`."""
        check_params(params)
        command = "GRAPH.RO_QUERY" if read_only else "GRAPH.QUERY"
        text = _params_header(params) + query
        try:
            reply = await self._db.connection.execute_command(
                command, self.name, text, "--compact", "timeout", timeout_ms
            )
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            raise Unavailable("the graph store does not answer") from error
        except redis.exceptions.ResponseError as error:
            if read_only and "empty key" in str(error):
                return None  # the graph has no nodes yet: FalkorDB has not created its key
            raise translate(error) from error
        if isinstance(reply[-1], redis.exceptions.ResponseError):  # a run-time error
            raise translate(reply[-1]) from reply[-1]
        if len(reply) == 1:  # statistics only: the statement returns nothing
            return None
        return reply  # type: ignore[no-any-return]


class _NotPlain(Exception):
    pass


def _params_header(params: Params | None) -> str:
    if not params:
        return ""
    pairs = " ".join(f"{name}={stringify_param_value(value)}" for name, value in params.items())
    return f"CYPHER {pairs} "


def _value(cell: list[Any]) -> Any:
    """Decode one value of FalkorDB's compact reply: [type, value].

    The client library decodes every value with a coroutine of its own, which cost about
    3 ms of a 25-pin board page; plain values (all the repositories return) decode here.
    """
    kind, value = cell
    if kind == _STRING:
        return value.decode() if isinstance(value, bytes) else value
    if kind == _INTEGER:
        return int(value)
    if kind == _NULL:
        return None
    if kind == _MAP:
        return {
            (value[i].decode() if isinstance(value[i], bytes) else value[i]): _value(value[i + 1])
            for i in range(0, len(value), 2)
        }
    if kind == _ARRAY:
        return [_value(item) for item in value]
    if kind == _BOOLEAN:
        return value in (b"true", "true")
    if kind == _DOUBLE:
        return float(value)
    raise _NotPlain


_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY, _MAP = 1, 2, 3, 4, 5, 6, 10


def _column_name(column: Any) -> str:
    name = column[1] if isinstance(column, list | tuple) else column
    return name.decode() if isinstance(name, bytes) else str(name)


def _analyst_error(error: redis.exceptions.ResponseError, timeout_ms: int) -> Exception:
    """Every error of an analyst's query is theirs to fix: none is a server fault."""
    message = str(error)
    if "RO_QUERY is to be executed only on read-only queries" in message:
        return WriteRefused("read-only: the graph store refused a query that writes")
    if "timed out" in message.lower() or "timeout" in message.lower():
        return BadInput(f"the query ran past its time limit of {timeout_ms} ms")
    return BadInput(f"the graph store refused the query: {message}")


def _translate(error: redis.exceptions.ResponseError) -> Exception:
    message = str(error)
    if "unique constraint" in message.lower():
        return Conflict("a unique value is already taken")
    if "timed out" in message.lower() or "timeout" in message.lower():
        return BadInput("the query ran past its time limit")
    return error
