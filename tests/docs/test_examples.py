"""Every example in the docs runs on the demo, as a reader runs it against `scripts/run`.

- Each GraphQL operation of docs/api.md runs by name, as the viewer its `PLAN` entry names
  and with the ids it looks up, and must answer data without errors; its top-level fields
  must not come back empty either, unless the plan says an empty answer is what the demo has.
- Each `sh` block of docs/ that calls `curl` runs in bash against the server, with
  `$TOKEN`, `<board id>` and the pin ids filled in; every answer must succeed.
- Each `sh` block of nothing but `pingraph` commands runs as a second shell would, on the
  server's data directory; a token it issues must be one the server accepts.
- Each `python` block runs as a notebook cell with an analyst's `token`.
- Each query of docs/analyst-queries.cypher runs through `POST /cypher` with its parameters.

An example that stops working fails here, and so does a new GraphQL example without a plan.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse
from PIL import Image

from graph.analyst.library import DEFAULT_LIBRARY, load_library
from tests.utils.demo_server import DemoServer
from tests.utils.processes import PINGRAPH, cli_env

DOCS = Path(__file__).resolve().parents[2] / "docs"
API = DOCS / "api.md"
DOC_URL = "http://127.0.0.1:8000"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PASSWORD = "correct horse battery"  # docs/api.md's SignUp
NEW_PASSWORD = "a new one, longer"  # docs/api.md's Change


def fenced(path: Path, language: str) -> list[str]:
    return [m[2] for m in FENCE.finditer(path.read_text()) if m[1] == language]


def doc_operations() -> dict[str, str]:
    """Each named operation of docs/api.md, with the block it is in, in the docs' order."""
    found: dict[str, str] = {}
    for block in fenced(API, "graphql"):
        for definition in parse(block).definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue  # a type shown in SDL
            assert definition.name is not None, f"name every operation in docs/api.md:\n{block}"
            name = definition.name.value
            assert name not in found, f"two operations named {name} in docs/api.md"
            found[name] = block
    return found


# ------------------------------------------------------------------------------ the reader


_tokens: dict[str, str] = {}


def tokens(server: DemoServer, role: str) -> str:
    """The demo user's token with `role`, issued once."""
    if role not in _tokens:
        _tokens[role] = server.token("demo", role=role)
    return _tokens[role]


@dataclass
class Reader:
    """Someone following the docs: the server, their tokens and the ids they looked up."""

    server: DemoServer
    http: httpx.Client
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, who: str | None = None,
        operation: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        body = {"query": query, "variables": variables or {}, "operationName": operation}
        answer: dict[str, Any] = self.http.post("/graphql", json=body, headers=headers).json()
        return answer

    def data(
        self, query: str, variables: dict[str, Any] | None = None, *, who: str | None = None
    ) -> Any:
        answer = self.gql(query, variables, who=who)
        assert "errors" not in answer, answer
        return answer["data"]

    def sign_up(self, handle: str, password: str = PASSWORD) -> str:
        """Sign `handle` up (or in, when it exists already); its token is kept under its name."""
        answer = self.gql(
            "mutation($h: String!, $p: String!) { signUp(handle: $h, password: $p) { token } }",
            {"h": handle, "p": password},
        )
        if answer.get("errors"):
            answer = self.gql(
                "mutation($h: String!, $p: String!) { signIn(handle: $h, password: $p) { token } }",
                {"h": handle, "p": password},
            )
        key = "signUp" if "signUp" in (answer.get("data") or {}) else "signIn"
        assert "errors" not in answer, answer
        self.tokens[handle] = answer["data"][key]["token"]
        return self.tokens[handle]

    def user_id(self, handle: str) -> str:
        found: str = self.data("query($h: String!) { user(handle: $h) { id } }", {"h": handle})[
            "user"
        ]["id"]
        return found

    def new_board(self, who: str, privacy: str = "SECRET") -> str:
        made = self.data(
            "mutation($p: BoardPrivacy!) { "
            'createBoard(input: {name: "Docs test", privacy: $p}) { id } }',
            {"p": privacy}, who=who,
        )  # fmt: skip
        board: str = made["createBoard"]["id"]
        return board

    def invite(self, board: str, handle: str) -> str:
        made = self.data(
            "mutation($b: ID!, $u: ID!) { inviteCollaborator(boardId: $b, userId: $u) { id } }",
            {"b": board, "u": self.user_id(handle)}, who="ada",
        )  # fmt: skip
        invite: str = made["inviteCollaborator"]["id"]
        return invite

    def join(self, board: str, handle: str) -> None:
        invite = self.invite(board, handle)
        self.data("mutation($i: ID!) { acceptBoardInvite(inviteId: $i) { id } }", {"i": invite},
                  who=handle)  # fmt: skip

    def upload(self, who: str, width: int = 640, height: int = 480) -> str:
        image = io.BytesIO()
        Image.new("RGB", (width, height), (180, 110, 60)).save(image, "JPEG")
        response = self.http.post(
            "/media", files={"file": ("lamp.jpg", image.getvalue(), "image/jpeg")},
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )  # fmt: skip
        assert response.status_code in (200, 201), response.text
        key: str = response.json()["imageKey"]
        return key


def wait_for_trending(reader: Reader, within_s: float = 120) -> None:
    """The server computes trending lists just after it starts: wait for them."""
    deadline = time.monotonic() + within_s
    while not reader.data("{ trendingBoards(first: 1) { id } }")["trendingBoards"]:
        assert time.monotonic() < deadline, f"no trending boards within {within_s:.0f} s"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def reader(demo_server: DemoServer) -> Iterator[Reader]:
    with httpx.Client(base_url=demo_server.url, timeout=60) as http:
        found = Reader(demo_server, http)
        found.tokens["demo"] = tokens(demo_server, "user")
        wait_for_trending(found)
        looked_up = found.data(
            """{
            searchPins(query: "cozy ceramics", first: 2) { edges { node { id } } }
            trendingBoards(first: 1) { id }
            trendingPins(first: 1) { topics { name } }
            user(handle: "demo") { id boards(first: 1) { edges { node { id } } } } }""",
            who="demo",  # the demo user's boards are secret
        )
        pins = [edge["node"]["id"] for edge in looked_up["searchPins"]["edges"]]
        found.ids.update(
            pin=pins[0], other_pin=pins[1], public_board=looked_up["trendingBoards"][0]["id"],
            trending_topic=looked_up["trendingPins"][0]["topics"][0]["name"],
            demo=looked_up["user"]["id"],
            demo_board=looked_up["user"]["boards"]["edges"][0]["node"]["id"],
        )  # fmt: skip
        yield found


# ------------------------------------------------------------------------------ the plan


type Variables = Callable[[Reader], dict[str, Any]]


@dataclass(frozen=True)
class Step:
    who: str | None = None  # a handle whose token signs the request; None: anonymous
    variables: Variables = lambda reader: {}
    keep: Callable[[Reader, dict[str, Any]], None] = lambda reader, data: None
    may_be_empty: bool = False  # what the demo has for it may be nothing


def _keep(name: str, *path: str) -> Callable[[Reader, dict[str, Any]], None]:
    def keep(reader: Reader, data: dict[str, Any]) -> None:
        value: Any = data
        for part in path:
            value = value[part]
        reader.ids[name] = value

    return keep


def _signed_up(reader: Reader, data: dict[str, Any]) -> None:
    reader.tokens["ada"] = data["signUp"]["token"]
    reader.ids["refresh"] = data["signUp"]["refreshToken"]


def _password_back(reader: Reader, data: dict[str, Any]) -> None:
    """Change the password back: the curl example signs in with the first one."""
    reader.tokens["ada"] = data["changePassword"]["token"]
    reader.data(
        "mutation($a: String!, $b: String!) { "
        "changePassword(currentPassword: $a, newPassword: $b) { token } }",
        {"a": NEW_PASSWORD, "b": PASSWORD}, who="ada",
    )  # fmt: skip


def _bea_invited(reader: Reader) -> dict[str, Any]:
    reader.sign_up("bea")
    reader.ids["shared"] = reader.new_board("ada")
    return {"board": reader.ids["shared"], "user": reader.user_id("bea")}


def _second_invite(reader: Reader) -> dict[str, Any]:
    return {"invite": reader.invite(reader.new_board("ada"), "bea")}


def _bea_back(reader: Reader) -> dict[str, Any]:
    reader.join(reader.ids["shared"], "bea")
    return {"board": reader.ids["shared"]}


def _pin_on_board(reader: Reader) -> dict[str, Any]:
    return {"pin": reader.ids["pin"], "board": reader.ids["board"]}


def _pin_on_shared(reader: Reader) -> dict[str, Any]:
    return {"pin": reader.ids["pin"], "board": reader.ids["shared"]}


PLAN: dict[str, Step] = {
    # Accounts
    "SignUp": Step(keep=_signed_up),
    "SignIn": Step(),
    "Refresh": Step(variables=lambda r: {"r": r.ids["refresh"]}),
    "Change": Step(who="ada", keep=_password_back),
    "Demo": Step(),
    # Examples
    "Closeup": Step(variables=lambda r: {"id": r.ids["pin"]}),
    "BoardPage": Step(variables=lambda r: {"id": r.ids["public_board"], "after": None}),
    "Profile": Step(),
    "Feed": Step(who="ada"),
    "SearchAndTopic": Step(),
    "CreateBoard": Step(who="ada", keep=_keep("board", "createBoard", "id")),
    "CreatePin": Step(who="ada", variables=lambda r: {"board": r.ids["board"]}),
    "SavePin": Step(who="ada", variables=_pin_on_board),
    "UnsavePin": Step(who="ada", variables=_pin_on_board),
    "UpdateBoard": Step(who="ada", variables=lambda r: {"board": r.ids["board"]}),
    "FollowUser": Step(who="ada", variables=lambda r: {"user": r.ids["demo"]}),
    "FollowTopic": Step(who="ada"),
    "Hide": Step(who="ada", variables=lambda r: {"pin": r.ids["other_pin"]}),
    "DeleteBoard": Step(who="ada", variables=lambda r: {"board": r.ids["board"]}),
    # Shared boards: ada owns, bea collaborates
    "Invite": Step(who="ada", variables=_bea_invited,
                   keep=_keep("invite", "inviteCollaborator", "id")),
    "Invites": Step(who="bea"),
    "Accept": Step(who="bea", variables=lambda r: {"invite": r.ids["invite"]}),
    "Decline": Step(who="bea", variables=_second_invite),
    "SharedBoard": Step(who="bea", variables=lambda r: {"board": r.ids["shared"]}),
    "SaveToShared": Step(who="bea", variables=_pin_on_shared),
    "Remove": Step(who="ada",
                   variables=lambda r: {"board": r.ids["shared"], "user": r.user_id("bea")}),
    "Leave": Step(who="bea", variables=_bea_back),
    # Sections
    "CreateSection": Step(who="ada", variables=lambda r: {"board": r.ids["shared"]},
                          keep=_keep("section", "createBoardSection", "id")),
    "SaveToSection": Step(who="ada",
                          variables=lambda r: {**_pin_on_shared(r), "section": r.ids["section"]}),
    "Sections": Step(who="ada", variables=lambda r: {"board": r.ids["shared"]}),
    "DeleteSection": Step(who="ada", variables=lambda r: {"section": r.ids["section"]}),
    # Comments and reactions
    "PinTalk": Step(variables=lambda r: {"pin": r.ids["pin"], "after": None}),
    "Comment": Step(who="ada", variables=lambda r: {"pin": r.ids["pin"]},
                    keep=_keep("comment", "addComment", "id")),
    "Uncomment": Step(who="ada", variables=lambda r: {"id": r.ids["comment"]}),
    "React": Step(who="ada", variables=lambda r: {"pin": r.ids["pin"]}),
    "Unreact": Step(who="ada", variables=lambda r: {"pin": r.ids["pin"]}),
    # Trending and notifications (ada's follow above notified demo)
    "Trending": Step(variables=lambda r: {"topic": r.ids["trending_topic"]}),
    "Inbox": Step(who="demo"),
    "MarkRead": Step(who="demo"),
    "Settings": Step(who="demo"),
    # Visual search
    "SearchByImage": Step(who="ada", variables=lambda r: {"key": r.upload("ada")}),
}  # fmt: skip


def empty(value: Any) -> bool:
    if value is None or value == []:
        return True
    return isinstance(value, dict) and value.get("edges") == []


def test_every_graphql_example_has_a_plan() -> None:
    operations = set(doc_operations())
    assert operations - set(PLAN) == set(), "examples without a plan"
    assert set(PLAN) - operations == set(), "plans of examples no longer in docs/api.md"


def test_every_graphql_example_answers_on_the_demo(reader: Reader) -> None:
    for name, block in doc_operations().items():
        step = PLAN[name]
        variables = step.variables(reader)
        answer = reader.gql(block, variables, who=step.who, operation=name)
        assert "errors" not in answer, f"{name} with {variables}: {answer['errors']}"
        data = answer["data"]
        assert isinstance(data, dict), f"{name}: {answer}"
        assert data, f"{name}: {answer}"
        if not step.may_be_empty:
            hollow = [key for key, value in data.items() if empty(value)]
            assert not hollow, f"{name} answers nothing in {hollow} on the demo: {data}"
        step.keep(reader, data)


def test_the_ids_the_docs_quote_are_the_demos(reader: Reader) -> None:
    """The demo is generated from a fixed seed, so docs may name its pins and boards."""
    quoted = set(re.findall(r"\b01[0-9A-HJKMNP-TV-Z]{24}\b", API.read_text()))
    assert quoted
    for id_ in quoted:
        found = reader.data(
            "query($id: ID!) { pin(id: $id) { id } board(id: $id) { id } }", {"id": id_}
        )
        assert found["pin"] or found["board"], f"docs/api.md quotes {id_}, unknown to the demo"


# ------------------------------------------------------------------------------ curl


def curl_examples() -> list[tuple[str, str]]:
    return [
        (f"{path.name} #{number}", block)
        for path in sorted(DOCS.glob("*.md"))
        for number, block in enumerate(fenced(path, "sh"), 1)
        if re.search(r"^\s*curl ", block, re.MULTILINE)
    ]


# The role a file's `$TOKEN` stands for.
ROLES = {"api.md": "user", "walks.md": "recommender", "analyst-guide.md": "analyst"}


def expected_error(block: str, call: int) -> str | None:
    """The error the docs show on purpose: persisted queries begin with an unknown hash."""
    return "PERSISTED_QUERY_NOT_FOUND" if "persistedQuery" in block and call == 1 else None


CURL = r"""
set -euo pipefail
calls=0
curl() {  # each answer into answers/<n>.body, its status into answers/<n>.status
    calls=$((calls + 1))
    command curl --silent --show-error -o "answers/$calls.body" -w '%{http_code}' "$@" \
        > "answers/$calls.status"
}
"""


def test_the_docs_have_curl_examples() -> None:
    files = {where.split(" ")[0] for where, _ in curl_examples()}
    assert {"api.md", "walks.md", "analyst-guide.md"} <= files


@pytest.mark.parametrize(("where", "block"), curl_examples(), ids=[w for w, _ in curl_examples()])
def test_curl_example_answers(
    reader: Reader, demo_server: DemoServer, tmp_path: Path, where: str, block: str
) -> None:
    doc = where.split(" ")[0]
    reader.sign_up("ada")  # the Accounts example signs in as ada
    script = block.replace(DOC_URL, demo_server.url)
    own_board = "Upload" in block  # the multipart example creates a pin on a board of yours
    board = reader.ids["demo_board"] if own_board else reader.ids["public_board"]
    script = script.replace("<board id>", board)
    # walks.md names demo pins by their ids: the demo is the same everywhere.
    (tmp_path / "answers").mkdir()
    Image.new("RGB", (1200, 900), (180, 113, 58)).save(tmp_path / "lamp.jpg", "JPEG")
    token = tokens(demo_server, ROLES.get(doc, "user"))
    ran = subprocess.run(
        ["bash", "-c", CURL + script], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "TOKEN": token},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, f"{where} failed:\n{ran.stderr}"
    calls = sorted((tmp_path / "answers").glob("*.status"), key=lambda p: int(p.stem))
    assert calls, f"{where} called nothing"
    for status_file in calls:
        number = int(status_file.stem)
        status = int(status_file.read_text())
        body = json.loads(status_file.with_suffix(".body").read_text())
        expected = expected_error(block, number)
        if expected is not None:
            assert body["errors"][0]["extensions"]["code"] == expected, body
            continue
        assert status < 400, f"{where}, call {number}: {status} {body}"
        assert "errors" not in body, f"{where}, call {number}: {body}"
        assert "error" not in body, f"{where}, call {number}: {body}"
        assert not empty(body.get("data", body)), f"{where}, call {number}: {body}"
        assert not any(empty(value) for value in (body.get("data") or {}).values()), body
        if "items" in body:
            assert body["items"], f"{where}: the walk found nothing: {body}"
            assert body["unknownPins"] == [], f"{where}: pins the demo does not have: {body}"
        if "rows" in body:
            assert body["rows"], f"{where}: no rows on the demo: {body}"


# ------------------------------------------------------------------------------ the CLI


def cli_examples() -> list[tuple[str, str]]:
    """`sh` blocks of nothing but `pingraph` commands (docs/examples/ run in tests/api)."""
    found = []
    for path in sorted(DOCS.glob("*.md")):
        for number, block in enumerate(fenced(path, "sh"), 1):
            commands = [line for line in block.splitlines() if line and not line[0].isspace()]
            if commands and all(line.startswith(".venv/bin/pingraph ") for line in commands):
                found.append((f"{path.name} #{number}", block))
    return found


def test_the_docs_have_cli_examples() -> None:
    assert {where.split(" ")[0] for where, _ in cli_examples()} >= {"api.md", "analyst-guide.md"}


@pytest.mark.parametrize(("where", "block"), cli_examples(), ids=[w for w, _ in cli_examples()])
def test_cli_example_runs(demo_server: DemoServer, tmp_path: Path, where: str, block: str) -> None:
    """As a second shell beside the server: its data directory, nothing else configured."""
    (tmp_path / ".venv").symlink_to(Path(PINGRAPH).parents[1])
    (tmp_path / "my-query.cypher").write_text("MATCH (t:Topic) RETURN t.name AS topic LIMIT 5\n")
    ran = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block], cwd=tmp_path,
        env=cli_env(demo_server.data_dir), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, f"{where} failed:\n{ran.stderr}"
    assert (ran.stdout + ran.stderr).strip(), f"{where} said nothing"
    if "token issue" in block.splitlines()[-1]:
        # The last token, a job's or an analyst's, is one the running server accepts.
        token = ran.stdout.split()[-1]
        answer = httpx.get(f"{demo_server.url}/walks/graph",
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 200, f"{where}: the server refused its token: {answer.text}"


# ------------------------------------------------------------------------------ Python


def python_examples() -> list[tuple[str, str]]:
    return [
        (f"{path.name} #{number}", block)
        for path in sorted(DOCS.glob("*.md"))
        for number, block in enumerate(fenced(path, "python"), 1)
    ]


def test_the_docs_have_python_examples() -> None:
    assert any(where.startswith("analyst-guide.md") for where, _ in python_examples())


@pytest.mark.parametrize(
    ("where", "block"), python_examples(), ids=[w for w, _ in python_examples()]
)
def test_python_example_runs(demo_server: DemoServer, where: str, block: str) -> None:
    """Run as a notebook cell, with the analyst's `token` defined before it."""
    code = block.replace(DOC_URL, demo_server.url)
    scope: dict[str, Any] = {"token": tokens(demo_server, "analyst")}
    exec(compile(code, where, "exec"), scope)  # noqa: S102 - the docs' own example
    made = [value for name, value in scope.items() if name not in ("token", "__builtins__")]
    assert made, f"{where} defined nothing"
    for value in made:
        assert getattr(value, "empty", False) is False, f"{where}: an empty DataFrame"
        if hasattr(value, "number_of_nodes"):
            assert value.number_of_nodes() > 0, f"{where}: an empty graph"


# ------------------------------------------------------------------------------ analyst queries


@pytest.mark.parametrize("query", load_library(DEFAULT_LIBRARY), ids=lambda q: q.name)
def test_analyst_query_runs_on_the_demo(demo_server: DemoServer, query: Any) -> None:
    token = tokens(demo_server, "analyst")
    response = httpx.post(
        f"{demo_server.url}/cypher", headers={"Authorization": f"Bearer {token}"},
        json={"query": query.query, "params": query.params}, timeout=60,
    )  # fmt: skip
    assert response.status_code == 200, f"{query.name}: {response.text}"
    assert "rows" in response.json()
