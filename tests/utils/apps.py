"""Apps built and started the way `pingraph serve` does it, for tests that need their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from server.app import create_app
from server.services import Services
from server.settings import Settings


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Starlette]:
    """An app with its lifespan entered: every service open, background tasks running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def services_of(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


@asynccontextmanager
async def client_of(
    app: Starlette, *, client: tuple[str, int] = ("127.0.0.1", 123)
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
