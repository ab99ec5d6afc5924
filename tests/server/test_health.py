import httpx

from server.settings import Settings
from tests.utils.apps import client_of, running


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_every_part(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"graph", "cache", "media"}


async def test_readyz_reports_a_missing_cache_as_degraded(settings: Settings) -> None:
    # The cache on a port where nothing listens: still ready, degraded on "cache" alone.
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with running(broken) as app, client_of(app) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["degraded"] == ["cache"]
    assert body["failing"] == []
    assert body["checks"]["cache"]["ok"] is False


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id\n"})
    assert generated.headers["x-request-id"] not in ("", "bad id\n")


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/no-such-route")
    text = (await client.get("/metrics")).text
    assert 'pingraph_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "pingraph_http_request_duration_seconds_bucket" in text
