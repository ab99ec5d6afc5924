"""OWASP GraphQL protections: limits, batching, CSRF, rate limits, production mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from domain.identity import Role
from graph.repos import Repositories
from resolvers import reads, writes
from schema.build import MAX_ALIASES, MAX_BATCH, MAX_DEPTH, MAX_TOKENS
from schema.cost import MAX_COST
from server.auth import issue_token
from server.guard import MAX_BODY_BYTES
from server.settings import Env, Settings
from tests.utils.apps import client_of, running
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api, code


@pytest.fixture
async def prod_api(settings: Settings) -> AsyncIterator[Api]:
    prod = settings.model_copy(update={"env": Env.PROD, "jwt_secret": SecretStr("p" * 40)})
    async with running(prod) as app, client_of(app) as http:
        yield Api(http, prod)


def nested_query(levels: int) -> str:
    """user -> followers -> edges -> node -> followers ... : three levels per hop."""
    inner = "id"
    for _ in range(levels):
        inner = f"followers {{ edges {{ node {{ {inner} }} }} }}"
    return f'{{ user(handle: "demo") {{ {inner} }} }}'


async def test_deep_queries_are_refused(api: Api) -> None:
    assert code(await api.error(nested_query(MAX_DEPTH // 3 + 1))) == "BAD_USER_INPUT"
    assert "exceeds maximum operation depth" in (await api.error(nested_query(5)))["message"]
    assert (await api.data(nested_query(2))) == {"user": None}
    # Fragments do not hide depth.
    fragments = """
    query { user(handle: "demo") { ...A } }
    fragment A on User { followers { edges { node { ...B } } } }
    fragment B on User { followers { edges { node { ...C } } } }
    fragment C on User { followers { edges { node { ...D } } } }
    fragment D on User { followers { edges { node { id } } } }
    """
    assert code(await api.error(fragments)) == "BAD_USER_INPUT"


async def test_alias_floods_are_refused(api: Api) -> None:
    flood = " ".join(f"a{i}: me {{ id }}" for i in range(MAX_ALIASES + 1))
    error = await api.error(f"{{ {flood} }}")
    assert code(error) == "BAD_USER_INPUT"
    assert "aliases" in error["message"]
    # ... also when spread through a fragment.
    fragment = f"query {{ ...F }} fragment F on Query {{ {flood} }}"
    assert code(await api.error(fragment)) == "BAD_USER_INPUT"


async def test_oversized_documents_are_refused(api: Api) -> None:
    words = " ".join("id" for _ in range(MAX_TOKENS))
    error = await api.error(f"{{ me {{ {words} }} }}")
    assert code(error) == "BAD_USER_INPUT"
    assert "tokens" in error["message"]
    padding = "x" * (MAX_BODY_BYTES + 1)
    response = await api.post("{ me { id } }", {"padding": padding})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_page_size_is_capped(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    query = "query($id: ID!, $n: Int) { board(id: $id) { pins(first: $n) { totalCount } } }"
    for bad in (101, 100000, -1):
        error = await api.error(query, {"id": board.id, "n": bad})
        assert code(error) == "BAD_USER_INPUT"
        assert "first must be between 0 and 100" in error["message"]
    assert await api.data(query, {"id": board.id, "n": 100}) == {
        "board": {"pins": {"totalCount": 0}}
    }


async def test_a_bad_page_size_is_a_request_error_that_names_the_field(
    api: Api, repos: Repositories
) -> None:
    """Refused before anything runs, not as a field error that would null `user` (or, under
    a non-null field such as `searchPins`, the whole answer) and leave the cause unclear."""
    user = await make_user(repos)
    query = """query($h: String!) { user(handle: $h) { handle
        boards(first: 500) { totalCount } ...F } }
        fragment F on User { mine: pins(first: -1) { totalCount } }"""
    response = await api.post(query, {"h": user.handle})
    body = response.json()
    assert body["data"] is None
    messages = sorted(error["message"] for error in body["errors"])
    assert messages == [
        "first must be between 0 and 100 in user.boards",
        "first must be between 0 and 100 in user.mine",
    ]
    assert {code(error) for error in body["errors"]} == {"BAD_USER_INPUT"}
    assert all("path" not in error for error in body["errors"])
    # The spec's request error for clients that ask for it: 400 and no `data`.
    strict = await api.http.post(
        "/graphql",
        json={"query": query, "variables": {"h": user.handle}},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert strict.status_code == 400
    assert "data" not in strict.json()
    trending = await api.error("{ trendingPins(first: 0) { id } }")
    assert trending["message"] == "first must be between 1 and 100 in trendingPins"


async def test_an_unknown_enum_value_lists_the_valid_ones(api: Api) -> None:
    error = await api.error('{ pin(id: "x") { image { url(size: HUGE) } } }')
    assert code(error) == "BAD_USER_INPUT"
    assert "Valid values: THUMB, SMALL, MEDIUM, ORIGINAL." in error["message"]
    # The same through a variable, and asked twice (validation results are cached).
    query = 'query($s: ImageSize!) { pin(id: "x") { image { url(size: $s) } } }'
    for _ in range(2):
        error = await api.error(query, {"s": "HUGE"})
        assert error["message"].count("Valid values: THUMB, SMALL, MEDIUM, ORIGINAL.") == 1
    # A quoted value and a number are other messages of graphql-core's: listed too.
    quoted = await api.error('{ pin(id: "x") { image { url(size: "SMALL") } } }')
    assert "Valid values: THUMB, SMALL, MEDIUM, ORIGINAL." in quoted["message"]
    number = await api.error(query, {"s": 5})
    assert "Valid values: THUMB, SMALL, MEDIUM, ORIGINAL." in number["message"]


async def test_batches_are_capped(api: Api) -> None:
    two = [{"query": "{ me { id } }"}, {"query": '{ topic(name: "nope nope") { id } }'}]
    response = await api.http.post("/graphql", json=two)
    assert response.status_code == 200
    assert response.json() == [{"data": {"me": None}}, {"data": {"topic": None}}]
    too_many = [{"query": "{ me { id } }"}] * (MAX_BATCH + 1)
    response = await api.http.post("/graphql", json=too_many)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Too many operations" in body["errors"][0]["message"]


async def test_form_posts_need_a_header_only_scripts_can_set(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    operations = {
        "query": "mutation($i: CreatePinInput!) { createPin(input: $i) { id } }",
        "variables": {"i": {"title": "x", "boardId": board.id, "image": None}},
    }
    form = {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.i.image"]})}
    files = {"0": ("a.png", b"not really a png", "image/png")}
    # What a cross-site HTML form can send: no token (pingraph uses no cookies), no headers.
    forged = await api.http.post("/graphql", data=form, files=files)
    assert forged.status_code == 400
    assert "cross-site request forgery" in forged.json()["errors"][0]["message"]
    plain = await api.http.post(
        "/graphql", content=b'{"query": "{ me { id } }"}', headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 400
    # A bearer token, or Apollo's preflight header, forces a CORS preflight: the multipart
    # request reaches the schema (which refuses this file: images arrive with media/).
    auth = {"Authorization": f"Bearer {api.token(user)}"}
    for headers in (auth, {**auth, "Apollo-Require-Preflight": "true"}):
        allowed = await api.http.post("/graphql", data=form, files=files, headers=headers)
        assert allowed.status_code == 200
        assert allowed.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await repos.boards.pins(board.id, user.id, 5, None)).items == []


async def test_rate_limits_per_user_and_per_address(
    settings: Settings, repos: Repositories
) -> None:
    strict = settings.model_copy(
        update={"rate_limit_user": "3/minute", "rate_limit_anonymous": "2/minute"}
    )
    async with running(strict) as app, client_of(app, client=("10.9.8.7", 1)) as http:
        api = Api(http, strict)
        for _ in range(2):
            assert (await api.post("{ me { id } }")).status_code == 200
        limited = await api.post("{ me { id } }")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        error = limited.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
        # A signed-in user has a budget of their own, not the address's.
        token = api.token(await make_user(repos))
        statuses = [(await api.post("{ me { id } }", token=token)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


async def test_production_hides_the_schema(prod_api: Api, api: Api) -> None:
    introspection = "{ __schema { types { name } } }"
    refused = (await prod_api.post(introspection)).json()
    assert refused["data"] is None
    assert {code(error) for error in refused["errors"]} == {"BAD_USER_INPUT"}
    assert "introspection has been disabled" in refused["errors"][0]["message"]
    assert "__schema" in (await api.data(introspection))
    typo = await prod_api.error("{ mee { id } }")
    assert "Did you mean" not in typo["message"]
    assert "Did you mean" in (await api.error("{ mee { id } }"))["message"]
    ide = {"Accept": "text/html"}
    assert (await api.http.get("/graphql", headers=ide)).status_code == 200
    assert "graphiql" in (await api.http.get("/graphql", headers=ide)).text.lower()
    hidden = await prod_api.http.get("/graphql", headers=ide)
    assert hidden.status_code == 404
    assert hidden.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


STALL = """{ searchPins(query: "decor", first: 100) { edges { node { id
  related(first: 100) { id saveCount
    boards(first: 100) { totalCount edges { node { id pinCount } } } }
} } } }"""


async def test_costly_queries_are_refused_before_they_run(
    api: Api, repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe's request (a million boards, 33 s of a blocked event loop) is refused at
    once with its computed cost; pages of ordinary size go through."""
    searched: list[str] = []
    real_search = reads.search_pins

    async def spy(ctx: object, query: str, *args: object) -> object:
        searched.append(query)
        return await real_search(ctx, query, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("resolvers.reads.search_pins", spy)
    refused = await api.post(STALL)
    assert searched == []  # refused before any resolver ran: no search, no walk
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["cost"] == 100 + 100 * 100 + 100 * 100 * 100
    assert error["extensions"]["maxCost"] == MAX_COST
    assert refused.json()["data"] is None
    # Variables count with their values, defaults with the schema's.
    nested = (
        'query($n: Int) { searchPins(query: "x", first: $n) '
        "{ edges { node { boards(first: $n) { totalCount } } } } }"
    )
    assert code(await api.error(nested, {"n": 100})) == "BAD_USER_INPUT"  # 100 + 10,000
    assert code(await api.error(nested, {"n": 100.0})) == "BAD_USER_INPUT"  # coerced to 100
    assert "errors" not in (await api.post(nested, {"n": 20})).json()
    assert searched == ["x"]  # the spy sees a search that does run
    # Aliased copies add up: each of these is 100 + 100 * 25 = 2,600.
    copy = 'searchPins(query: "x", first: 100) { edges { node { boards { totalCount } } } }'
    three = "{ " + " ".join(f"c{i}: {copy}" for i in range(3)) + " }"
    assert "errors" not in (await api.post(three)).json()
    four = "{ " + " ".join(f"c{i}: {copy}" for i in range(4)) + " }"
    assert (await api.error(four))["extensions"]["cost"] == 4 * 2600
    # Lists without `first` (topics, at most 10) multiply too: 100 + 100 * 10 * 99.
    topics = (
        '{ searchPins(query: "x", first: 100) { edges { node { topics '
        "{ pins(first: 99) { totalCount } } } } } }"
    )
    assert (await api.error(topics))["extensions"]["cost"] == 100 + 1000 + 1000 * 99


class SlowRelated:
    """Pin.related made slow: stands in for work the cost limit cannot see (a slow store)."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    async def __call__(self, ctx: object, pin_id: str, first: int) -> list[object]:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return []


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> SlowRelated:
    fake = SlowRelated()
    monkeypatch.setattr("resolvers.walked.related", fake)
    return fake


async def related_query(repos: Repositories) -> bytes:
    owner = await make_user(repos)
    pin = await make_pin(repos, owner, await make_board(repos, owner))
    return json.dumps({"query": f'{{ pin(id: "{pin.id}") {{ related {{ id }} }} }}'}).encode()


async def test_an_operation_past_its_time_limit_is_stopped(
    api: Api, repos: Repositories, slow: SlowRelated, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("server.graphql.EXECUTION_LIMIT_S", 0.5)
    body = await related_query(repos)
    response = await api.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "time limit" in error["message"]
    assert slow.cancelled.is_set()


async def post_then_hang_up(
    app: Starlette, body: bytes, *, after_s: float, token: str | None = None
) -> list[dict[str, object]]:
    """POST /graphql straight through ASGI, the client disconnecting `after_s` after its
    body; what the app sent back."""
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(after_s)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "root_path": "",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 4321),
        "server": ("testserver", 80),
    }  # fmt: skip
    await asyncio.wait_for(app(scope, receive, send), timeout=30)
    return sent


async def test_work_stops_when_the_client_goes_away(
    app: Starlette, repos: Repositories, slow: SlowRelated
) -> None:
    sent = await post_then_hang_up(app, await related_query(repos), after_s=0.3)
    assert slow.cancelled.is_set()  # the resolver was stopped, not left to run for a minute
    assert sent[0]["status"] == 499


async def test_each_operation_of_a_batch_counts_against_the_rate_limit(
    settings: Settings, repos: Repositories
) -> None:
    strict = settings.model_copy(update={"rate_limit_user": "3/minute"})
    batch = [{"query": "{ me { id } }"}, {"query": "{ me { handle } }"}]
    async with running(strict) as app, client_of(app) as http:
        api = Api(http, strict)
        token = {"Authorization": f"Bearer {api.token(await make_user(repos))}"}
        first = await http.post("/graphql", json=batch, headers=token)
        assert first.status_code == 200  # two of three
        second = await http.post("/graphql", json=batch, headers=token)
        assert second.status_code == 429  # three and four: over
        assert second.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_write_is_finished_even_when_the_client_goes_away(
    app: Starlette, repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelling a mutation after its transaction committed would lose its event (cache
    versions, walk deltas); a write runs to its end and publishes."""
    real = writes.create_board
    finished = asyncio.Event()

    async def slow_create(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(0.6)  # the client is gone by now
        board = await real(*args, **kwargs)  # type: ignore[arg-type]
        finished.set()
        return board

    monkeypatch.setattr("resolvers.writes.create_board", slow_create)
    user = await make_user(repos)
    token = issue_token(app.state.settings.jwt_secret.get_secret_value(), user.id, [Role.USER], 60)
    body = json.dumps({"query": 'mutation { createBoard(input: {name: "kept"}) { id } }'})
    await post_then_hang_up(app, body.encode(), after_s=0.1, token=token)
    assert finished.is_set()
    boards = await repos.boards.of_user(user.id, user.id, 5, None)
    assert [board.name for board in boards.items] == ["kept"]
