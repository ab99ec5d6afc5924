"""POST /cypher: analysts read the graph, and nothing they send can change it."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from structlog.testing import capture_logs

from domain.errors import WriteRefused
from domain.identity import Role
from graph.analyst.notebook import CypherClient, CypherError, TruncatedWarning
from graph.integrity import check
from graph.model import User
from graph.repos import Repositories
from server.services import Services
from server.settings import Settings
from tests.utils.factories import make_board, make_pin, make_user
from tests.utils.graphql import Api
from tests.utils.replica import replicated

# Each is refused, with the graph left as it was.
ATTEMPTS: list[tuple[str, dict[str, Any]]] = [
    ("CREATE (n:Hack) RETURN n", {}),
    ("create (n:Hack) return n", {}),
    ("MERGE (u:User {id: 'hack'}) RETURN u", {}),
    ("MATCH (u:User) SET u.handle = 'pwned' RETURN u", {}),
    ("MATCH (u:User) SET u += {pwned: true} RETURN u", {}),
    ("MATCH (u:User) REMOVE u.handle RETURN u", {}),
    ("MATCH (b:Board) DELETE b", {}),
    ("MATCH (b:Board) DETACH DELETE b", {}),
    ("MATCH (n) WITH n LIMIT 1 MERGE (n)-[:HACK]->(n)", {}),
    ("MATCH (n) FOREACH (x IN [1] | SET n.pwned = x)", {}),
    ("CALL { CREATE (n:Hack) RETURN n } RETURN n", {}),
    ("MATCH (u:User) CALL { WITH u CREATE (:Hack) } RETURN u", {}),
    ("UNWIND [1] AS x CALL { CREATE (:Hack) } IN TRANSACTIONS RETURN x", {}),
    ("CALL db.labels() YIELD label CREATE (:Hack {l: label})", {}),
    ("CALL db.idx.fulltext.createNodeIndex('Pin', 'title')", {}),
    ("CALL apoc.cypher.runWrite('CREATE (n:Hack)', {})", {}),
    ("CALL dbms.setConfigValue('db.logs.query.enabled', 'off')", {}),
    ("LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row", {}),
    ("LOAD CSV WITH HEADERS FROM 'http://127.0.0.1:9/x.csv' AS row CREATE (:Hack)", {}),
    ("CREATE INDEX FOR (n:User) ON (n.displayName)", {}),
    ("DROP INDEX ON :User(id)", {}),
    ("CREATE CONSTRAINT FOR (u:User) REQUIRE u.handle IS UNIQUE", {}),
    ("MATCH (n) RETURN count(n); MATCH (n) DETACH DELETE n", {}),
    ("MATCH (n) RETURN n /* harmless */ ; CREATE (:Hack)", {}),
    ("MATCH (n) // a comment\n SET n.pwned = 1 RETURN n", {}),
    ("\uff23\uff32\uff25\uff21\uff34\uff25 (n:Hack) RETURN n", {}),  # fullwidth CREATE
    ("CRE\u200bATE (n:Hack) RETURN n", {}),  # a zero-width space inside the keyword
    ("MATCH (n) RETURN n \u202e;ETELED HCTAM", {}),  # right-to-left override
    ("MATCH (n)\u00a0DETACH DELETE n", {}),  # a no-break space
    ("USE system SHOW USERS", {}),
    ("EXPLAIN CREATE (n:Hack)", {}),
    ("CYPHER h='x' CREATE (n:Hack)", {}),
    ("MATCH (u:User {handle: $h}) RETURN u", {"h=1 CREATE (n:Hack) //": 1}),  # name injection
    ("MATCH (u:User) WHERE u.handle = $m.a RETURN u", {"m": {"a`) CREATE (:Hack) //": 1}}),
    ("MATCH (n) WHERE n.name = 'unclosed RETURN n", {}),
]


@pytest.fixture
async def analyst(repos: Repositories, api: Api) -> dict[str, str]:
    user = await make_user(repos)
    return {"Authorization": f"Bearer {api.token(user, Role.ANALYST)}"}


async def fingerprint(services: Services) -> tuple[Any, ...]:
    graph = services.graph
    nodes = await graph.read("MATCH (n) RETURN count(n) AS n")
    edges = await graph.read("MATCH ()-[r]->() RETURN count(r) AS n")
    handles = await graph.read("MATCH (u:User) RETURN u.handle AS h ORDER BY h")
    properties = await graph.read("MATCH (n) RETURN sum(size(keys(n))) AS n")
    labels = await graph.read("CALL db.labels() YIELD label RETURN label ORDER BY label")
    indexes = await graph.read("CALL db.indexes() YIELD label RETURN count(label) AS n")
    return (nodes, edges, handles, properties, labels, indexes)


async def test_write_and_escape_attempts_are_refused_and_change_nothing(
    api: Api, services: Services, analyst: dict[str, str]
) -> None:
    assert len(ATTEMPTS) >= 25
    before = await fingerprint(services)
    for query, params in ATTEMPTS:
        response = await api.http.post(
            "/cypher", json={"query": query, "params": params}, headers=analyst
        )
        assert response.status_code in (400, 403), (query, response.text)
        error = response.json()["error"]
        assert error["code"] in ("BAD_USER_INPUT", "FORBIDDEN"), query
        assert error["message"], query
    assert await fingerprint(services) == before


async def test_the_store_refuses_writes_even_without_the_check(services: Services) -> None:
    """Read-only by construction: the backend alone (GRAPH.RO_QUERY) refuses a write."""
    before = await fingerprint(services)
    for query in ("CREATE (n:Hack) RETURN n", "MATCH (n) SET n.pwned = 1",
                  "MATCH (b:Board) DETACH DELETE b"):  # fmt: skip
        with pytest.raises(WriteRefused):
            await services.graph.explore(query, {}, limit=10, timeout_ms=5000)
    assert await fingerprint(services) == before


async def test_injection_through_a_value_is_only_data(
    api: Api, services: Services, analyst: dict[str, str]
) -> None:
    before = await fingerprint(services)
    for value in ["x\"}) CREATE (n:Hack) //", "x' CREATE (n:Hack) //", "\\\" CREATE (:Hack)",
                  "*/ CREATE (:Hack) /*", "\n CREATE (:Hack)"]:  # fmt: skip
        response = await api.http.post(
            "/cypher",
            json={"query": "MATCH (u:User {handle: $h}) RETURN u.id AS id, $h AS h",
                  "params": {"h": value}},
            headers=analyst,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["rows"] == []
    echoed = await api.http.post(
        "/cypher", json={"query": "RETURN '; CREATE (n)' AS text, $v AS v",
                         "params": {"v": [1, "two", {"three": None}]}},
        headers=analyst,
    )  # fmt: skip
    assert echoed.json()["rows"] == [["; CREATE (n)", [1, "two", {"three": None}]]]
    assert await fingerprint(services) == before


async def test_nodes_relationships_and_paths_are_rendered(
    api: Api, repos: Repositories, analyst: dict[str, str], settings: Settings
) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner, name="Rendered")
    pin = await make_pin(repos, owner, board, title="Shown")
    await replicated(settings)  # analysts read the replica
    response = await api.http.post(
        "/cypher",
        json={"query": "MATCH path = (p:Pin {id: $pin})-[s:SAVED_TO]->(b:Board) "
                       "RETURN p, s, b.name AS name, path",
              "params": {"pin": pin.id}},
        headers=analyst,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["columns"] == ["p", "s", "name", "path"]
    assert answer["truncated"] is False
    assert answer["elapsedMs"] >= 0
    node, rel, name, path = answer["rows"][0]
    assert node["kind"] == "node"
    assert node["labels"] == ["Pin"]
    assert node["properties"]["title"] == "Shown"
    assert rel["kind"] == "relationship"
    assert rel["type"] == "SAVED_TO"
    assert rel["start"] == node["id"]
    assert name == "Rendered"
    assert path["kind"] == "path"
    assert path["nodes"][0]["id"] == node["id"]
    assert path["relationships"][0]["id"] == rel["id"]


async def test_row_cap_csv_and_timeout(api: Api, analyst: dict[str, str]) -> None:
    body = {"query": "UNWIND range(1, 50) AS x RETURN x, x * 2 AS double", "limit": 10}
    capped = (await api.http.post("/cypher", json=body, headers=analyst)).json()
    assert len(capped["rows"]) == 10
    assert capped["truncated"] is True
    whole = await api.http.post("/cypher", json={**body, "limit": 50}, headers=analyst)
    assert whole.json()["truncated"] is False
    as_csv = await api.http.post("/cypher", json=body, headers={**analyst, "Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["x-truncated"] == "true"
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == ["x", "double"]
    assert rows[1:3] == [["1", "2"], ["2", "4"]]
    for query in ("UNWIND range(1, 3000) AS i UNWIND range(1, 3000) AS j RETURN count(*)",
                  "UNWIND range(1, 100000000) AS x RETURN count(x)"):  # fmt: skip
        slow = await api.http.post(
            "/cypher", json={"query": query, "timeoutMs": 100}, headers=analyst
        )
        assert slow.status_code == 400, slow.text
        message = slow.json()["error"]["message"]
        assert "time limit of 100 ms" in message or "mem consumption" in message
    for wrong in ({"query": "RETURN 1", "limit": 0}, {"query": "RETURN 1", "limit": 10_001},
                  {"query": "RETURN 1", "timeoutMs": 60_001}, {"query": ""},
                  {"query": "RETURN 1", "surprise": True}, {"query": "RETURN $x"},
                  {"query": "MATCH (n RETURN n"}):  # fmt: skip
        refused = await api.http.post("/cypher", json=wrong, headers=analyst)
        assert refused.status_code == 400, (wrong, refused.text)
        assert refused.json()["error"]["code"] == "BAD_USER_INPUT"


async def test_a_missing_parameter_is_named(api: Api, analyst: dict[str, str]) -> None:
    for body, expected in [
        ({"query": "RETURN $x AS x"}, "missing parameter $x: "),
        ({"query": "RETURN $a + $b AS c", "params": {"a": 1}}, "missing parameter $b: "),
        ({"query": "RETURN $a, $`b c`, $a"}, "missing parameters $a, $b c: "),
    ]:
        response = await api.http.post("/cypher", json=body, headers=analyst)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["message"].startswith(expected)
    # `$` in strings and comments is text, not a parameter.
    text = await api.http.post(
        "/cypher", json={"query": "RETURN '$x' AS s /* $y */ // $z"}, headers=analyst
    )
    assert text.json()["rows"] == [["$x"]]


async def test_a_name_like_a_write_clause_says_to_rename_it(
    api: Api, analyst: dict[str, str]
) -> None:
    for query, expected in [
        ("UNWIND [1] AS x RETURN x AS set",
         "read-only: `set` is used as a name here (AS set); rename it: SET is a write clause"),
        ("MATCH (create:User) RETURN create.handle",
         "read-only: `create` is used as a name here; rename it: CREATE is a write clause"),
        ("MATCH (u:User) SET u.pwned = true", "read-only: SET is not allowed here"),
    ]:  # fmt: skip
        response = await api.http.post("/cypher", json={"query": query}, headers=analyst)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["message"] == expected
    renamed = await api.http.post(
        "/cypher", json={"query": "UNWIND [1] AS x RETURN x AS `set`"}, headers=analyst
    )
    assert renamed.json()["rows"] == [[1]]


async def test_the_time_limit_says_how_to_raise_it_and_is_logged_as_a_timeout(
    api: Api, analyst: dict[str, str]
) -> None:
    with capture_logs() as logs:
        slow = await api.http.post(
            "/cypher", json={"query": CROSS, "timeoutMs": 100}, headers=analyst
        )
    assert slow.status_code == 400, slow.text
    message = slow.json()["error"]["message"]
    assert message.startswith("the query ran past its time limit of 100 ms: raise it, up to "
                              "60,000 ms, with timeoutMs (POST /cypher)")  # fmt: skip
    assert "--timeout-ms" in message
    queries = [entry for entry in logs if entry["event"] == "cypher query"]
    assert [(q["outcome"], q["log_level"]) for q in queries] == [("timeout", "info")]


class AppTransport(httpx.BaseTransport):
    """A notebook's blocking HTTP client, calling the in-process app from a worker thread."""

    def __init__(self, app: Starlette, loop: asyncio.AbstractEventLoop) -> None:
        self.asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 123))
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return asyncio.run_coroutine_threadsafe(self._send(request), self.loop).result()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self.asgi.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=body)


async def test_the_notebook_client(app: Starlette, api: Api, repos: Repositories) -> None:
    token = api.token(await make_user(repos), Role.ANALYST)
    transport = AppTransport(app, asyncio.get_running_loop())
    with CypherClient("http://testserver", token, transport=transport) as cypher:
        await asyncio.to_thread(use_the_notebook_client, cypher)
    assert cypher.http.is_closed


def use_the_notebook_client(cypher: CypherClient) -> None:
    numbers = "UNWIND range(1, 50) AS x RETURN x"
    with pytest.warns(TruncatedWarning) as caught:
        frame = cypher.dataframe(numbers, row_limit=10)
    assert len(frame) == 10
    assert str(caught[0].message) == (
        "the query had more rows than row_limit: only the first 10 came back; pass "
        "row_limit= (up to 10,000) for more, or add LIMIT to the query"
    )
    assert caught[0].filename == __file__  # it points at the notebook's line
    with pytest.warns(TruncatedWarning, match="only the first 5 came back"):
        assert cypher.run(numbers, row_limit=5).truncated
    with pytest.warns(TruncatedWarning, match="only the first 1,000 came back"):
        cypher.graph("UNWIND range(1, 2000) AS x RETURN x")
    # `limit` and `query` are Cypher parameters; no warning (warnings are errors here).
    limited = cypher.run(numbers + " LIMIT $limit", limit=3)
    assert limited.rows == [[1], [2], [3]]
    assert not limited.truncated
    assert cypher.run("RETURN $query AS q", query="x").rows == [["x"]]
    with pytest.raises(CypherError, match=r"BAD_USER_INPUT: missing parameter \$h: "):
        cypher.dataframe("MATCH (u:User {handle: $h}) RETURN u")
    with pytest.raises(CypherError, match="timeout_ms="):
        cypher.run(CROSS, timeout_ms=100)


async def test_only_analysts(api: Api, repos: Repositories) -> None:
    user: User = await make_user(repos)
    body = {"query": "MATCH (n) RETURN count(n)"}
    assert (await api.http.post("/cypher", json=body)).status_code == 401
    for role in (Role.USER, Role.RECOMMENDER):
        headers = {"Authorization": f"Bearer {api.token(user, role)}"}
        response = await api.http.post("/cypher", json=body, headers=headers)
        assert response.status_code == 403
        assert "analyst" in response.json()["error"]["message"]


async def test_every_query_is_logged_with_the_analyst(api: Api, repos: Repositories) -> None:
    user = await make_user(repos)
    headers = {"Authorization": f"Bearer {api.token(user, Role.ANALYST)}"}
    with capture_logs() as logs:
        await api.http.post("/cypher", json={"query": "RETURN 1 AS one"}, headers=headers)
        await api.http.post("/cypher", json={"query": "CREATE (:Hack)"}, headers=headers)
    queries = [entry for entry in logs if entry["event"] == "cypher query"]
    assert [(q["analyst"], q["outcome"], q["rows"]) for q in queries] == [
        (user.id, "ok", 1),
        (user.id, "refused", 0),
    ]
    assert queries[1]["log_level"] == "warning"
    assert queries[1]["query"] == "CREATE (:Hack)"
    assert all(q["ms"] >= 0 for q in queries)


CROSS = (
    "UNWIND range(1,1000) AS a UNWIND range(1,1000) AS b UNWIND range(1,1000) AS c RETURN count(*)"
)
CREATE_BOARD = "mutation($n: String!) { createBoard(input: {name: $n}) { id } }"


async def test_a_timed_out_analyst_query_neither_blocks_nor_corrupts_writes(
    api: Api, repos: Repositories, services: Services, analyst: dict[str, str]
) -> None:
    """The probe's attack: a long analyst query that times out, with boards created while it
    runs. On the primary it blocked every write for its whole run and then misjoined new
    OWNS edges; on the replica the writes go on and stay right."""
    users = [await make_user(repos) for _ in range(3)]
    query = asyncio.create_task(
        api.http.post("/cypher", json={"query": CROSS, "timeoutMs": 3000}, headers=analyst)
    )
    await asyncio.sleep(0.5)
    created: list[tuple[str, str]] = []
    for round_ in range(4):
        for user in users:
            answer = await api.data(CREATE_BOARD, {"n": f"b{round_}"}, token=api.token(user))
            created.append((user.id, answer["createBoard"]["id"]))
    assert not query.done(), "the writes waited for the analyst query to end"
    response = await query
    assert response.status_code in (400, 503), response.text  # timed out, the analyst told
    for user, board in created:  # and each board is where its writer put it
        rows = await services.graph.read(
            "MATCH (o)-[:OWNS]->(b:Board {id: $b}) RETURN o.id AS owner", {"b": board}
        )
        assert rows == [{"owner": user}]
    assert [finding.rule for finding in await check(services.graph) if finding.count] == []
    second = await api.data(CREATE_BOARD, {"n": "after"}, token=api.token(users[0]))
    rows = await services.graph.read(
        "MATCH (o)-[:OWNS]->(b:Board {id: $b}) RETURN o.id AS owner",
        {"b": second["createBoard"]["id"]},
    )
    assert rows == [{"owner": users[0].id}]
