"""`pingraph user set-password`, `pingraph user keygen`, and exports without credentials: the
CLI as an operator runs it, attached to the suite's stores, with the API checking the result.
(The app's repositories are `services.repos`: here `repos` is the graph contract suite's.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import networkx as nx

from accounts.key import parse_key
from server.services import Services
from server.settings import Settings
from tests.utils.factories import make_user
from tests.utils.graphql import Api, code
from tests.utils.processes import PINGRAPH, cli_env
from tests.utils.replica import replicated

SIGN_IN = """mutation($h: String!, $p: String!) {
  signIn(handle: $h, password: $p) { token refreshToken } }"""
REFRESH = "mutation($r: String!) { refreshSession(refreshToken: $r) { token } }"


def pingraph(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The CLI on the suite's stores and data directory (and so its password key)."""
    env = cli_env(
        settings.data_dir,
        PINGRAPH_GRAPH_URL=settings.graph_url,
        PINGRAPH_ANALYST_GRAPH_URL=settings.analyst_graph_url,
        PINGRAPH_REDIS_URL=settings.redis_url,
    )
    return subprocess.run(
        [PINGRAPH, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


async def test_set_password_from_stdin_signs_in_and_ends_earlier_sessions(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    api, repos = Api(client, settings), services.repos
    user = await make_user(repos)  # as `pingraph user create` makes one: no password
    first = pingraph(settings, "user", "set-password", "--handle", user.handle,
                     "--password-stdin", stdin="first password\n")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert f"password set for {user.handle}" in first.stderr
    session = (await api.data(SIGN_IN, {"h": user.handle, "p": "first password"}))["signIn"]
    again = pingraph(settings, "user", "set-password", "--handle", user.handle.upper(),
                     "--password-stdin", stdin="second password\r\n")  # fmt: skip
    assert again.returncode == 0, again.stderr
    old = await api.error(SIGN_IN, {"h": user.handle, "p": "first password"})
    assert old["message"] == "wrong handle or password"
    assert (await api.data(SIGN_IN, {"h": user.handle, "p": "second password"}))["signIn"]
    ended = await api.error(REFRESH, {"r": session["refreshToken"]})
    assert code(ended) == "UNAUTHENTICATED"
    assert "password was changed" in ended["message"]
    stored = await repos.credentials.get(user.id)
    assert stored is not None
    assert stored.generation == 2


async def test_set_password_refuses_a_weak_password_or_an_unknown_handle(
    settings: Settings, services: Services
) -> None:
    repos = services.repos
    user = await make_user(repos)
    weak = pingraph(settings, "user", "set-password", "--handle", user.handle,
                    "--password-stdin", stdin="short\n")  # fmt: skip
    assert weak.returncode == 1
    assert "password must be at least 8 characters" in weak.stderr
    assert await repos.credentials.get(user.id) is None
    empty = pingraph(settings, "user", "set-password", "--handle", user.handle,
                     "--password-stdin")  # fmt: skip
    assert empty.returncode == 1
    assert "standard input is empty" in empty.stderr
    unknown = pingraph(settings, "user", "set-password", "--handle", "nobody_by_that_name",
                       "--password-stdin", stdin="long enough password\n")  # fmt: skip
    assert unknown.returncode == 1
    assert "no user with handle 'nobody_by_that_name'" in unknown.stderr
    assert "Traceback" not in weak.stderr + empty.stderr + unknown.stderr


def test_keygen_prints_a_key_and_touches_no_store(tmp_path: Path) -> None:
    made = subprocess.run(
        [PINGRAPH, "user", "keygen"],
        env=cli_env(tmp_path / "untouched"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    assert re.fullmatch(r"PINGRAPH_PASSWORD_KEY=[A-Za-z0-9_-]{43}\n", made.stdout)
    assert len(parse_key(made.stdout.strip().split("=", 1)[1])) == 32
    assert not (tmp_path / "untouched").exists()


async def test_exports_leave_credentials_out(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    user = await make_user(services.repos)
    made = pingraph(settings, "user", "set-password", "--handle", user.handle,
                    "--password-stdin", stdin="exported never\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    await replicated(settings)
    output = tmp_path / "credentials.graphml"
    query = "MATCH (c:Credential {user: $u}) OPTIONAL MATCH (u:User {id: $u}) RETURN c, u"
    exported = pingraph(settings, "export", "--query", query, "--param", f"u={user.id}",
                        "--format", "graphml", "--output", str(output))  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert "exported 1 nodes" in exported.stderr
    graph = nx.read_graphml(output)
    assert [data["labels"] for _, data in graph.nodes(data=True)] == ["User"]
    assert "sealed" not in output.read_text()
    only = tmp_path / "only-credentials.graphml"
    refused = pingraph(settings, "export", "--query", "MATCH (c:Credential {user: $u}) RETURN c",
                       "--param", f"u={user.id}", "--output", str(only))  # fmt: skip
    assert refused.returncode == 1
    assert "only nodes that exports leave out (Credential)" in refused.stderr
    assert not only.exists()
