from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from domain.identity import Role
from server.auth import issue_token
from server.services import Services
from server.settings import Env, Settings, SettingsError, load_settings
from tests.utils import images
from tests.utils.apps import client_of, running
from tests.utils.factories import make_user

METRICS_TOKEN = "metrics-" + "t" * 32


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_every_part(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"graph", "cache", "media", "analyst"}


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


async def test_metrics_need_the_token_when_one_is_set(settings: Settings) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})
    async with running(guarded) as app, client_of(app) as http:
        refused = {
            "no header": None,
            "wrong token": "Bearer " + "x" * len(METRICS_TOKEN),
            "a prefix of it": f"Bearer {METRICS_TOKEN[:-1]}",
            "another scheme": f"Basic {METRICS_TOKEN}",
            "non-ASCII": "Bearer tést",
        }
        for case, authorization in refused.items():
            headers = {b"authorization": authorization.encode()} if authorization else {}
            response = await http.get("/metrics", headers=headers)
            assert response.status_code == 401, case
            assert response.headers["www-authenticate"].startswith("Bearer")
            error = response.json()["error"]
            assert error["code"] == "UNAUTHENTICATED", case
            assert "PINGRAPH_METRICS_TOKEN" in error["message"]
            assert "pingraph_" not in response.text
        allowed = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert allowed.status_code == 200
        assert "pingraph_walk_deltas_total" in allowed.text
        assert 'route="/metrics",status="401"' in allowed.text


async def test_metrics_are_off_in_production_without_a_token(settings: Settings) -> None:
    prod = settings.model_copy(update={"env": Env.PROD, "jwt_secret": SecretStr("p" * 40)})
    async with running(prod) as app, client_of(app) as http:
        for headers in ({}, {"Authorization": "Bearer anything"}):
            response = await http.get("/metrics", headers=headers)
            assert response.status_code == 404
            error = response.json()["error"]
            assert error["code"] == "NOT_FOUND"
            assert "set PINGRAPH_METRICS_TOKEN" in error["message"]
            assert "pingraph_" not in response.text
        # The rest of the service answers as usual.
        assert (await http.get("/healthz")).status_code == 200


async def test_responses_say_nosniff(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    for path in ("/healthz", "/no-such-route"):
        response = await client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    user = await make_user(services.repos)
    token = issue_token(settings.jwt_secret.get_secret_value(), user.id, [Role.USER], 60)
    uploaded = await client.post(
        "/media",
        files={"file": ("photo.jpg", images.jpeg(320, 240), "image/jpeg")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.headers["x-content-type-options"] == "nosniff"
    for size in ("thumb", "original"):
        image = await client.get(f"/media/{uploaded.json()['imageKey']}/{size}")
        assert image.status_code == 200
        assert image.headers["content-type"].startswith("image/")
        assert image.headers["x-content-type-options"] == "nosniff"


def test_metrics_token_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PINGRAPH_DATA_DIR", str(tmp_path))  # its generated JWT secret goes there
    monkeypatch.setenv("PINGRAPH_METRICS_TOKEN", "short")
    with pytest.raises(SettingsError, match="PINGRAPH_METRICS_TOKEN: must be at least 16"):
        load_settings()
    monkeypatch.setenv("PINGRAPH_METRICS_TOKEN", "")
    assert load_settings().metrics_token is None
    monkeypatch.setenv("PINGRAPH_METRICS_TOKEN", METRICS_TOKEN)
    loaded = load_settings().metrics_token
    assert loaded is not None
    assert loaded.get_secret_value() == METRICS_TOKEN
    assert METRICS_TOKEN not in repr(load_settings())
