"""X-Forwarded-For is believed only from PINGRAPH_TRUSTED_PROXIES: a real uvicorn server, configured
as `pingraph serve` configures it, with real HTTP requests over loopback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from server.cli.serve import bind_socket, uvicorn_config
from server.settings import Settings, SettingsError, load_settings
from tests.utils.apps import running, services_of

ME = {"query": "{ me { id } }"}
START_TIMEOUT_S = 30


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a real uvicorn server on a free loopback port, as `serve_app` runs it
    (the lifespan entered by `running`, uvicorn's off); a client that talks HTTP to it."""
    async with running(settings) as app:
        await forget_limits_of(app, "127.0.0.1")
        sock = bind_socket("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn_config(app, settings))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while not server.started:
                    if task.done():
                        task.result()  # raises what stopped it
                        pytest.fail("uvicorn stopped before it started")
                    await asyncio.sleep(0.01)
            port = sock.getsockname()[1]
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
                yield http
        finally:
            server.should_exit = True
            await task
            sock.close()


async def forget_limits_of(app: Starlette, address: str) -> None:
    """Start from a full budget: other tests of the session may have counted this address."""
    cache = services_of(app).cache
    async for key in cache.scan_iter(match=f"pingraph:rate*/ip:{address}/*"):
        await cache.delete(key)


def strict(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update={"rate_limit_anonymous": "2/minute", **update})


def addresses(count: int) -> list[str]:
    """Addresses no other test uses (TEST-NET-2, a random last part per run)."""
    base = uuid.uuid4().int % 200
    return [f"198.51.100.{base + n}" for n in range(count)]


async def statuses(http: httpx.AsyncClient, forwarded_for: list[str]) -> list[int]:
    return [
        (await http.post("/graphql", json=ME, headers={"X-Forwarded-For": address})).status_code
        for address in forwarded_for
    ]


async def test_forwarded_for_is_ignored_by_default(settings: Settings) -> None:
    # uvicorn's own default trusts 127.0.0.1: each request would pick a fresh address and
    # a fresh budget. Without PINGRAPH_TRUSTED_PROXIES the connecting address counts.
    assert settings.trusted_proxies == ""
    async with served(strict(settings)) as http:
        assert await statuses(http, addresses(3)) == [200, 200, 429]
        limited = await http.post("/graphql", json=ME)
        assert limited.status_code == 429
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_forwarded_for_counts_behind_a_trusted_proxy(settings: Settings) -> None:
    trusted = strict(settings, trusted_proxies="127.0.0.1")
    async with served(trusted) as http:
        # Three clients behind the proxy, one request each: nobody is over the limit.
        clients = addresses(3)
        assert await statuses(http, clients) == [200, 200, 200]
        # ... and each one's budget is their own.
        assert await statuses(http, [clients[0], clients[0]]) == [200, 429]


def test_trusted_proxies_are_validated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PINGRAPH_DATA_DIR", str(tmp_path))  # its generated JWT secret goes there
    monkeypatch.setenv("PINGRAPH_TRUSTED_PROXIES", " 10.0.0.0/8, 127.0.0.1 ,::1,")
    assert load_settings().trusted_proxy_list == ["10.0.0.0/8", "127.0.0.1", "::1"]
    for wrong in ("10.0.0.1/8", "proxy.internal", "*", "127.0.0.1,300.1.1.1"):
        monkeypatch.setenv("PINGRAPH_TRUSTED_PROXIES", wrong)
        with pytest.raises(SettingsError, match="PINGRAPH_TRUSTED_PROXIES") as raised:
            load_settings()
        assert "not an IP address or network" in str(raised.value)
    monkeypatch.delenv("PINGRAPH_TRUSTED_PROXIES")
    assert load_settings().trusted_proxy_list == []


def test_uvicorn_reads_forwarding_headers_only_from_the_trusted(settings: Settings) -> None:
    app = Starlette()
    untrusted = uvicorn_config(app, settings)
    assert untrusted.proxy_headers is False
    assert untrusted.forwarded_allow_ips == []
    behind = uvicorn_config(app, settings.model_copy(update={"trusted_proxies": "10.1.0.0/16"}))
    assert behind.proxy_headers is True
    assert behind.forwarded_allow_ips == ["10.1.0.0/16"]
