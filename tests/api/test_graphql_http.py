"""GraphQL over HTTP: GET for queries, content negotiation and the spec's status codes,
automatic persisted queries (Apollo's protocol), cache headers, and graphql-http's official
conformance audit against a real server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graph.repos import Repositories
from server.graphql import GRAPHQL_RESPONSE, PUBLIC_MAX_AGE_S
from server.persisted import KEY_PREFIX, TTL_S
from server.services import Services
from server.settings import Settings
from tests.server.test_cache_outage import RedisProcess
from tests.utils.apps import client_of, running
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api, code
from tests.utils.graphqlhttp import audit, install
from tests.utils.live_server import serving

BOARD = "query($id: ID!) { board(id: $id) { name } }"
PUBLIC = f"public, max-age={PUBLIC_MAX_AGE_S}"
AS_GRAPHQL = {"Accept": GRAPHQL_RESPONSE}


def unique_query() -> str:
    """A document no earlier test persisted (the comment changes its hash, not its meaning)."""
    return f"# {uuid.uuid4().hex}\n{{ __typename }}"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str) -> str:
    return json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})


async def get(
    http: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    encoded = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in params.items()
    }
    return await http.get("/graphql", params=encoded, headers=headers or {})


def only_error(response: httpx.Response) -> dict[str, Any]:
    [error] = response.json()["errors"]
    found: dict[str, Any] = error
    return found


# --- GET ------------------------------------------------------------------------------------


async def test_a_get_query_is_public_when_anonymous_and_private_when_signed_in(
    api: Api, repos: Repositories
) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner, name="Kitchens")
    anonymous = await get(api.http, query=BOARD, variables={"id": board.id})
    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json() == {"data": {"board": {"name": "Kitchens"}}}
    assert anonymous.headers["cache-control"] == PUBLIC
    assert anonymous.headers["vary"] == "Authorization, Accept"
    assert anonymous.headers["content-type"] == "application/json; charset=utf-8"

    token = {"Authorization": f"Bearer {api.token(owner)}"}
    signed_in = await get(api.http, token, query="{ me { id } }")
    assert signed_in.json() == {"data": {"me": {"id": owner.id}}}
    assert signed_in.headers["cache-control"] == "private, no-store"
    assert (await api.post(BOARD, {"id": board.id})).headers["cache-control"] == "no-store"
    failing = await get(api.http, query="{ nope }")
    assert failing.status_code == 200
    assert failing.headers["cache-control"] == "no-store"


async def test_a_get_with_a_bad_token_is_refused(api: Api) -> None:
    response = await get(api.http, {"Authorization": "Bearer nope"}, query="{ me { id } }")
    assert response.status_code == 401
    assert code(only_error(response)) == "UNAUTHENTICATED"
    assert response.headers["cache-control"] == "no-store"


async def test_a_mutation_over_get_is_405_and_does_not_run(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    token = {"Authorization": f"Bearer {api.token(user)}"}
    create = 'mutation { createBoard(input: {name: "from a link"}) { id } }'
    for headers in (token, {**token, **AS_GRAPHQL}):
        response = await get(api.http, headers, query=create)
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        assert "POST" in only_error(response)["message"]
        assert code(only_error(response)) == "BAD_USER_INPUT"
    # The operation a request selects is what counts.
    both = 'query Read { __typename } mutation Write { followTopic(name: "x") { name } }'
    assert (await get(api.http, token, query=both, operationName="Write")).status_code == 405
    read = await get(api.http, token, query=both, operationName="Read")
    assert read.json() == {"data": {"__typename": "Query"}}
    assert (await repos.boards.of_user(user.id, user.id, 10, None)).items == []


async def test_get_variables_are_url_encoded_json(api: Api, repos: Repositories) -> None:
    board = await make_board(repos, await make_user(repos), name="Gardens")
    url = httpx.URL("/graphql", params={"query": BOARD, "variables": f'{{"id": "{board.id}"}}'})
    assert "variables=%7B%22id%22" in str(url)  # what clients send
    response = await api.http.get(url)
    assert response.json() == {"data": {"board": {"name": "Gardens"}}}


@pytest.mark.parametrize("name", ["variables", "extensions"])
async def test_get_parameters_that_are_not_json_are_400(api: Api, name: str) -> None:
    params = {"query": "{ __typename }", name: "{nope"}
    response = await api.http.get("/graphql", params=params)
    assert response.status_code == 400
    error = only_error(response)
    assert code(error) == "BAD_USER_INPUT"
    assert f"the `{name}` parameter is not valid JSON" in error["message"]
    assert response.json()["data"] is None


async def test_gets_are_rate_limited(settings: Settings) -> None:
    strict = settings.model_copy(update={"rate_limit_anonymous": "2/minute"})
    async with running(strict) as app, client_of(app, client=("10.7.7.7", 1)) as http:
        statuses = [(await get(http, query="{ __typename }")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = await get(http, query="{ __typename }")
        assert code(only_error(limited)) == "RATE_LIMITED"
        assert int(limited.headers["Retry-After"]) >= 1


async def test_a_get_past_its_time_limit_is_stopped(
    api: Api, repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    cancelled = asyncio.Event()

    async def slow_related(ctx: object, pin_id: str, first: int) -> list[object]:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return []

    monkeypatch.setattr("resolvers.walked.related", slow_related)
    monkeypatch.setattr("server.graphql.EXECUTION_LIMIT_S", 0.5)
    owner = await make_user(repos)
    pin = await make_pin(repos, owner, await make_board(repos, owner))
    query = "query($id: ID!) { pin(id: $id) { related { id } } }"
    response = await get(api.http, query=query, variables={"id": pin.id})
    assert response.status_code == 400
    assert "time limit" in only_error(response)["message"]
    assert cancelled.is_set()


# --- media types and status codes -----------------------------------------------------------


async def test_graphql_response_json_uses_the_specs_status_codes(api: Api) -> None:
    async def post(query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return await api.post(query, variables, headers=AS_GRAPHQL)

    ok = await post("{ __typename }")
    assert ok.status_code == 200
    assert ok.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert ok.json() == {"data": {"__typename": "Query"}}
    for document, variables in [
        ("{", None),  # does not parse
        ("{ nope }", None),  # does not validate
        ("query($id: ID!) { pin(id: $id) { id } }", {"id": None}),  # variables do not fit
    ]:
        refused = await post(document, variables)
        assert refused.status_code == 400, (document, refused.text)
        assert "data" not in refused.json()
        assert code(only_error(refused)) == "BAD_USER_INPUT"
        assert refused.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    # A resolver's error leaves the rest of the answer: 200 with data.
    partial = await post('{ __typename user(id: "a", handle: "b") { id } }')
    assert partial.status_code == 200
    assert partial.json()["data"] == {"__typename": "Query", "user": None}
    assert code(only_error(partial)) == "BAD_USER_INPUT"
    missing = await api.http.post("/graphql", json={"qeury": "{ __typename }"}, headers=AS_GRAPHQL)
    assert missing.status_code == 400
    assert "data" not in missing.json()


async def test_application_json_keeps_200_with_errors(api: Api) -> None:
    for accept in ("application/json", "*/*", ""):
        for document in ("{", "{ nope }"):
            response = await api.post(document, headers={"Accept": accept})
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json; charset=utf-8"
            assert response.json()["data"] is None
            assert code(only_error(response)) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (f"{GRAPHQL_RESPONSE}, application/json", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", "application/json"),
        (f"{GRAPHQL_RESPONSE}, */*;q=0.8", GRAPHQL_RESPONSE),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
        ("application/*", "application/json"),
    ],
)
async def test_the_answer_is_in_the_type_the_client_prefers(
    api: Api, accept: str, expected: str
) -> None:
    response = await api.post("{ __typename }", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"


async def test_what_the_server_cannot_answer_or_read_is_refused(
    api: Api, repos: Repositories
) -> None:
    for accept in ("text/csv", f"{GRAPHQL_RESPONSE};q=0, application/xml"):
        response = await api.post("{ __typename }", headers={"Accept": accept})
        assert response.status_code == 406, accept
        assert code(only_error(response)) == "BAD_USER_INPUT"
    token = {"Authorization": f"Bearer {api.token(await make_user(repos))}"}
    for content_type in ("application/xml", "application/graphql", "text/plain"):
        unread = await api.http.post(
            "/graphql", content=b"{ __typename }", headers={**token, "Content-Type": content_type}
        )
        assert unread.status_code == 415, content_type
        assert "application/json" in only_error(unread)["message"]
    head = await api.http.head("/graphql", params={"query": "{ __typename }"})
    assert head.status_code == 405
    assert head.headers["allow"] == "GET, POST"


async def test_subscriptions_are_refused_over_http(api: Api) -> None:
    subscription = "subscription { notificationAdded { id } }"
    for response in (
        await get(api.http, query=subscription),
        await api.post(subscription),
        await api.http.post(
            "/graphql", json=[{"query": "{ __typename }"}, {"query": subscription}]
        ),
    ):
        assert response.status_code == 400
        assert "WebSocket" in only_error(response)["message"]
        assert code(only_error(response)) == "BAD_USER_INPUT"


async def test_graphiql_still_opens_in_a_browser(api: Api) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


# --- automatic persisted queries ------------------------------------------------------------


async def test_an_unknown_hash_asks_for_the_document(api: Api) -> None:
    digest = sha256(unique_query())
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    for response in (
        await get(api.http, extensions=persisted(digest)),
        await get(api.http, AS_GRAPHQL, extensions=persisted(digest)),
        await api.http.post("/graphql", json={"extensions": extensions}),
        await api.http.post("/graphql", json={"extensions": extensions}, headers=AS_GRAPHQL),
    ):
        assert response.status_code == 200, response.text  # Apollo's clients then retry
        error = only_error(response)
        assert error["message"] == "PersistedQueryNotFound"
        assert code(error) == "PERSISTED_QUERY_NOT_FOUND"
        assert response.headers["cache-control"] == "no-store"
    batch = [{"query": "{ __typename }"}, {"extensions": extensions}]
    answers = (await api.http.post("/graphql", json=batch)).json()
    assert answers[0] == {"data": {"__typename": "Query"}}
    assert code(answers[1]["errors"][0]) == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_document_sent_with_its_hash_is_kept_for_every_replica(
    api: Api, settings: Settings, services: Services
) -> None:
    query = unique_query()
    digest = sha256(query)
    first = await get(api.http, query=query, extensions=persisted(digest))
    assert first.json() == {"data": {"__typename": "Query"}}
    by_hash = await get(api.http, extensions=persisted(digest))
    assert by_hash.status_code == 200
    assert by_hash.json() == {"data": {"__typename": "Query"}}
    assert by_hash.headers["cache-control"] == PUBLIC
    assert 0 < await services.cache.ttl(KEY_PREFIX + digest) <= TTL_S
    # Another server of the same deployment (same Redis, its own memory) knows it too.
    async with running(settings) as other, client_of(other) as http:
        found = await get(http, AS_GRAPHQL, extensions=persisted(digest))
        assert found.json() == {"data": {"__typename": "Query"}}
        posted = await http.post("/graphql", json={"extensions": json.loads(persisted(digest))})
        assert posted.json() == {"data": {"__typename": "Query"}}


async def test_a_persisted_mutation_runs_over_post_only(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    token = {"Authorization": f"Bearer {api.token(user)}"}
    topic = f"apq {uuid.uuid4().hex[:8]}"
    mutation = f'mutation {{ followTopic(name: "{topic}") {{ followerCount }} }}'
    extensions = json.loads(persisted(sha256(mutation)))
    registered = await api.http.post(
        "/graphql", json={"query": mutation, "extensions": extensions}, headers=token
    )
    assert registered.json() == {"data": {"followTopic": {"followerCount": 1}}}
    by_hash = await get(api.http, token, extensions=json.dumps(extensions))
    assert by_hash.status_code == 405
    posted = await api.http.post("/graphql", json={"extensions": extensions}, headers=token)
    assert posted.json() == {"data": {"followTopic": {"followerCount": 1}}}


async def test_a_hash_that_is_not_the_documents_is_refused(api: Api) -> None:
    query = unique_query()
    wrong = await get(api.http, query=query, extensions=persisted(sha256(query + " ")))
    assert wrong.status_code == 400
    assert code(only_error(wrong)) == "BAD_USER_INPUT"
    assert "SHA-256" in only_error(wrong)["message"]
    # Nothing was kept under the wrong hash.
    again = await get(api.http, extensions=persisted(sha256(query + " ")))
    assert code(only_error(again)) == "PERSISTED_QUERY_NOT_FOUND"
    for malformed in (
        {"persistedQuery": {"version": 2, "sha256Hash": sha256(query)}},
        {"persistedQuery": {"version": 1, "sha256Hash": "abc"}},
        {"persistedQuery": "yes"},
    ):
        response = await api.http.post("/graphql", json={"query": query, "extensions": malformed})
        assert response.status_code == 400, malformed
        assert code(only_error(response)) == "BAD_USER_INPUT"


async def test_without_redis_an_unknown_hash_is_not_found_not_a_failure(
    settings: Settings, tmp_path: Path
) -> None:
    redis = RedisProcess(tmp_path)
    redis.start()
    own = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{redis.port}/0"})
    try:
        async with running(own) as app, client_of(app) as http:
            redis.stop()
            unknown = await get(http, extensions=persisted(sha256(unique_query())))
            assert unknown.status_code == 200, unknown.text
            assert code(only_error(unknown)) == "PERSISTED_QUERY_NOT_FOUND"
            # A document sent with its hash still runs, and this server remembers it.
            query = unique_query()
            sent = await get(http, query=query, extensions=persisted(sha256(query)))
            assert sent.json() == {"data": {"__typename": "Query"}}
            by_hash = await get(http, extensions=persisted(sha256(query)))
            assert by_hash.json() == {"data": {"__typename": "Query"}}
    finally:
        redis.stop()


# --- the answer cache -----------------------------------------------------------------------


@pytest.fixture
async def cached_api(settings: Settings) -> AsyncIterator[Api]:
    on = settings.model_copy(update={"response_cache_ttl_s": 30})
    async with running(on) as app, client_of(app) as http:
        yield Api(http, on)


async def test_anonymous_gets_use_the_answer_cache(cached_api: Api, repos: Repositories) -> None:
    cached_http = cached_api.http
    owner = await make_user(repos)
    board = await make_board(repos, owner, name="Lamps")
    miss = await get(cached_http, query=BOARD, variables={"id": board.id})
    hit = await get(cached_http, AS_GRAPHQL, query=BOARD, variables={"id": board.id})
    assert "x-cache" not in miss.headers
    assert hit.headers["x-cache"] == "hit"
    assert hit.json() == miss.json() == {"data": {"board": {"name": "Lamps"}}}
    assert hit.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert hit.headers["cache-control"] == PUBLIC
    # Keyed by the operation: other variables are another answer.
    other = await make_board(repos, owner, name="Rugs")
    rugs = await get(cached_http, query=BOARD, variables={"id": other.id})
    assert "x-cache" not in rugs.headers
    assert rugs.json() == {"data": {"board": {"name": "Rugs"}}}
    # A persisted document is the same operation as the document itself.
    query = BOARD + " # " + uuid.uuid4().hex
    extensions = persisted(sha256(query))
    sent = await get(cached_http, query=query, variables={"id": board.id}, extensions=extensions)
    assert "x-cache" not in sent.headers
    by_hash = await get(cached_http, variables={"id": board.id}, extensions=extensions)
    assert by_hash.headers["x-cache"] == "hit"
    # Signed in: never from, nor into, the shared cache.
    token = {"Authorization": f"Bearer {cached_api.token(owner)}"}
    mine = await get(cached_http, token, query=BOARD, variables={"id": board.id})
    assert "x-cache" not in mine.headers
    assert mine.headers["cache-control"] == "private, no-store"


# --- the official audit ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def audit_script() -> Path:
    return install()


async def test_the_graphql_over_http_audit_passes(app: Starlette, audit_script: Path) -> None:
    async with serving(app) as url:
        results = await audit(audit_script, url.replace("ws://", "http://") + "/graphql")
    assert len(results) > 50
    failing = [
        f"{result['status']} {result['id']} {result['name']}: {result['reason']} "
        f"(got {result['response']})"
        for result in results
        if result["status"] != "ok"
    ]
    assert not failing, "\n".join(failing)
