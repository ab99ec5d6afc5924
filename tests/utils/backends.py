"""A graph backend wrapper for failures and counts nothing outside can cause or see."""

from __future__ import annotations

import dataclasses
from typing import Any

from graph.backends.base import GraphBackend, Params, Record


@dataclasses.dataclass
class ProxyBackend:
    """The real backend; `before()` runs ahead of every statement."""

    real: GraphBackend

    @property
    def dialect(self) -> Any:
        return self.real.dialect

    def __getattr__(self, name: str) -> Any:  # ping, close, explore: as the real one
        return getattr(self.real, name)

    def before(self) -> None:
        pass

    async def read(
        self, query: str, params: Params | None = None, *, timeout_ms: int | None = None
    ) -> list[Record]:
        self.before()
        return await self.real.read(query, params, timeout_ms=timeout_ms)

    async def write(self, query: str, params: Params | None = None) -> list[Record]:
        self.before()
        return await self.real.write(query, params)


@dataclasses.dataclass
class CountingBackend(ProxyBackend):
    """Counts the statements it runs."""

    statements: int = 0

    def before(self) -> None:
        self.statements += 1


@dataclasses.dataclass
class FailingBackend(ProxyBackend):
    """Once `error` is set, every statement raises it: for failures nothing outside can
    cause (a bug, a constraint race)."""

    error: Exception | None = None

    def before(self) -> None:
        if self.error is not None:
            raise self.error
