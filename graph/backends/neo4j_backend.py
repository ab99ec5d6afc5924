"""Neo4j backend, through the official async driver (routing-aware, managed transactions)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import neo4j
from neo4j import AsyncGraphDatabase, AsyncManagedTransaction, unit_of_work
from neo4j.exceptions import ClientError, ConstraintError, ServiceUnavailable, SessionExpired

from domain.errors import BadInput, Conflict, Unavailable, WriteRefused
from graph.backends.base import Dialect, Params, Record, check_params
from graph.backends.rendering import render

DEFAULT_DATABASE = "neo4j"


class Neo4jBackend:
    dialect = Dialect.NEO4J

    def __init__(self, url: str, *, database: str | None = None, timeout_ms: int = 10_000) -> None:
        parts = urlsplit(url)
        auth = (parts.username or "neo4j", parts.password or "") if parts.username else None
        netloc = parts.hostname or "localhost"
        if parts.port:
            netloc += f":{parts.port}"
        bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        self._driver = AsyncGraphDatabase.driver(bare, auth=auth)
        self.database = database or DEFAULT_DATABASE
        self._timeout_s = timeout_ms / 1000

    async def read(
        self, query: str, params: Params | None = None, *, timeout_ms: int | None = None
    ) -> list[Record]:
        timeout = timeout_ms / 1000 if timeout_ms else self._timeout_s
        return await self._run(query, params, neo4j.READ_ACCESS, timeout)

    async def write(self, query: str, params: Params | None = None) -> list[Record]:
        return await self._run(query, params, neo4j.WRITE_ACCESS, self._timeout_s)

    async def explore(
        self, query: str, params: Params, *, limit: int, timeout_ms: int
    ) -> tuple[list[str], list[list[Any]], bool]:
        """In a READ transaction, after EXPLAIN has shown the query type to be read-only."""
        check_params(params)

        @unit_of_work(timeout=timeout_ms / 1000)
        async def work(tx: AsyncManagedTransaction) -> tuple[list[str], list[list[Any]], bool]:
            plan = await tx.run("EXPLAIN " + query, dict(params))
            summary = await plan.consume()
            if summary.query_type != "r":
                raise WriteRefused(
                    f"read-only: Neo4j plans this query as type {summary.query_type!r}, "
                    "not 'r' (read only)"
                )
            result = await tx.run(query, dict(params))
            columns = list(result.keys())
            records = await result.fetch(limit + 1)
            rows = [[render(value) for value in record.values()] for record in records[:limit]]
            return columns, rows, len(records) > limit

        try:
            return await self._transaction(neo4j.READ_ACCESS, work)
        except ClientError as error:  # every mistake in an analyst's query is theirs
            raise BadInput(f"the graph store refused the query: {error.message}") from error

    async def ddl(self, statement: str) -> None:
        try:
            async with self._driver.session(database=self.database) as session:
                result = await session.run(statement)
                await result.consume()
        except (ServiceUnavailable, SessionExpired) as error:
            raise Unavailable("the graph store does not answer") from error

    async def ping(self) -> None:
        try:
            await self._driver.verify_connectivity(database=self.database)
        except (ServiceUnavailable, SessionExpired, OSError) as error:
            raise Unavailable("the graph store does not answer") from error

    async def close(self) -> None:
        await self._driver.close()

    async def _run(
        self, query: str, params: Params | None, access: str, timeout_s: float
    ) -> list[Record]:
        check_params(params)

        @unit_of_work(timeout=timeout_s)
        async def work(tx: AsyncManagedTransaction) -> list[Record]:
            result = await tx.run(query, dict(params or {}))
            return [record.data() async for record in result]

        return await self._transaction(access, work)

    async def _transaction[T](
        self, access: str, work: Callable[[AsyncManagedTransaction], Awaitable[T]]
    ) -> T:
        """`work` in a managed transaction; known store errors become domain errors, other
        client errors are raised as they are."""
        try:
            async with self._driver.session(
                database=self.database, default_access_mode=access
            ) as session:
                if access == neo4j.READ_ACCESS:
                    return await session.execute_read(work)
                return await session.execute_write(work)
        except ConstraintError as error:
            raise Conflict("a unique value is already taken") from error
        except (ServiceUnavailable, SessionExpired) as error:
            raise Unavailable("the graph store does not answer") from error
        except ClientError as error:
            raise _translate(error) from error


def _translate(error: ClientError) -> Exception:
    code: Any = getattr(error, "code", "") or ""
    if "TransactionTimedOut" in code or "Terminated" in code:
        return BadInput("the query ran past its time limit")
    return error
