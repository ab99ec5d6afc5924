"""Every error code, as a client sees it: a clear message, `extensions.code`, no internals."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest

from domain.errors import Conflict
from graph.backends.connect import open_backend
from graph.repos import Repositories
from server.embedded import EmbeddedServices
from server.settings import Settings
from tests.utils.apps import client_of, running
from tests.utils.backends import FailingBackend
from tests.utils.factories import make_board, make_user
from tests.utils.graphql import Api, code

BOARD = "query($id: ID!) { board(id: $id) { id name } }"


@asynccontextmanager
async def api_over(settings: Settings) -> AsyncIterator[Api]:
    async with running(settings) as app, client_of(app) as http:
        yield Api(http, settings)


@pytest.fixture
async def failing(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    """Start an app whose graph backend then raises `error` for every statement."""
    async with AsyncExitStack() as stack:

        async def make(error: Exception) -> Api:
            opened: list[FailingBackend] = []

            async def breakable(url: str, **options: Any) -> FailingBackend:
                opened.append(FailingBackend(await open_backend(url, **options)))
                return opened[-1]

            monkeypatch.setattr("server.services.open_backend", breakable)
            api = await stack.enter_async_context(api_over(settings))
            opened[0].error = error
            return api

        yield make


async def test_bad_tokens_are_refused_with_401(api: Api, settings: Settings) -> None:
    secret = settings.jwt_secret.get_secret_value()
    expired = jwt.encode({"sub": "x", "roles": ["user"], "exp": int(time.time()) - 3600}, secret)
    forged = jwt.encode({"sub": "x", "roles": ["user"], "exp": int(time.time()) + 60}, "y" * 40)
    no_expiry = jwt.encode({"sub": "x", "roles": ["user"]}, secret)
    cases = {
        f"Bearer {expired}": "expired",
        f"Bearer {forged}": "signed with another secret than this server's",
        f"Bearer {no_expiry}": "not valid",
        "Bearer ": "Bearer <token>",
        "Basic dXNlcjpwYXNz": "Bearer <token>",
    }
    for header, message in cases.items():
        response = await api.post("{ me { id } }", headers={"Authorization": header})
        assert response.status_code == 401, header
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert message in error["message"]


async def test_tokens_without_a_known_role_are_refused_with_401(
    api: Api, settings: Settings, repos: Repositories
) -> None:
    secret = settings.jwt_secret.get_secret_value()
    user = await make_user(repos)
    expiry = int(time.time()) + 60

    def signed(**claims: Any) -> str:
        return jwt.encode({"sub": user.id, "exp": expiry, **claims}, secret)

    cases = {
        signed(roles=[]): "grants no known role",
        signed(): "grants no known role",
        signed(roles=["admin", "root"]): "grants no known role",
        signed(roles=[{"role": "user"}]): "malformed",
        signed(roles="user"): "malformed",
    }
    for token, message in cases.items():
        response = await api.post("{ me { id } }", token=token)
        assert response.status_code == 401, message
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert message in error["message"]
        # The REST doors read tokens the same way.
        rest = await api.http.get("/walks/graph", headers={"Authorization": f"Bearer {token}"})
        assert rest.status_code == 401, message
        assert rest.json()["error"]["code"] == "UNAUTHENTICATED"
    # A known role among unknown ones is still that role.
    mixed = await api.post("{ me { id } }", token=signed(roles=["admin", "user"]))
    assert mixed.json() == {"data": {"me": {"id": user.id}}}


async def test_not_found_and_bad_input(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    token = api.token(user)
    save = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"
    missing = await api.error(save, {"p": "01NOSUCHPIN", "b": board.id}, token=token)
    assert code(missing) == "NOT_FOUND"
    assert missing["path"] == ["savePin"]
    empty = await api.error('mutation { createBoard(input: {name: "   "}) { id } }', token=token)
    assert code(empty) == "BAD_USER_INPUT"
    assert "name must not be empty" in empty["message"]
    for document in (
        "{ board(id: 1) { nope } }",  # unknown field
        "{ board(id: ",  # syntax
        "query($id: ID!) { board(id: $id) { id } }",  # missing variable
    ):
        assert code(await api.error(document)) == "BAD_USER_INPUT", document
    wrong_type = await api.error(BOARD, {"id": {"not": "an id"}})
    assert code(wrong_type) == "BAD_USER_INPUT"


async def test_conflict_is_reported(failing: Any) -> None:
    api = await failing(Conflict("a unique value is already taken"))
    error = await api.error(BOARD, {"id": "x"})
    assert code(error) == "CONFLICT"
    assert error["message"] == "a unique value is already taken"


async def test_internal_errors_are_masked(failing: Any) -> None:
    api = await failing(RuntimeError("secret detail: password=hunter2 at /srv/app.py line 7"))
    response = await api.post(BOARD, {"id": "x"})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert code(error) == "INTERNAL"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "X-Request-ID" in error["message"]
    assert response.headers["X-Request-ID"]


async def test_graph_store_down_is_unavailable(tmp_path: Path, settings: Settings) -> None:
    with EmbeddedServices(tmp_path / "doomed", fsync="everysec") as embedded:
        assert embedded.endpoints is not None
        own = settings.model_copy(
            update={"graph_url": embedded.endpoints.graph_url, "data_dir": tmp_path / "own"}
        )
        async with api_over(own) as api:
            assert (await api.data(BOARD, {"id": "nothing"})) == {"board": None}
            embedded.stop()
            error = await api.error(BOARD, {"id": "nothing"})
            assert code(error) == "UNAVAILABLE"
            assert "graph store" in error["message"]
            ready = await api.http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["failing"] == ["graph"]
