"""`pingraph serve` as a user runs it: a real process, real ports, clean errors and exits."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import jwt
import pytest
import redis

from graph.analyst.notebook import CypherClient, CypherError
from server.settings import JWT_SECRET_FILE
from tests.utils.processes import PINGRAPH, cli_env, free_port

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "falkordb"


def _redis_servers_under(data_dir: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            # redis-server rewrites its title, so find it by its working directory.
            cmdline = (proc / "cmdline").read_bytes()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if b"redis-server" in cmdline and cwd.startswith(str(data_dir)):
            found.append(int(proc.name))
    return found


def test_serve_becomes_ready_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [PINGRAPH, "serve", "--port", str(port), "--demo"],
        env=cli_env(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert status == 200
        assert len(_redis_servers_under(tmp_path)) == 3  # graph, its replica, cache
        # Start-up applied the migrations and loaded the demo graph into the empty store.
        state = json.loads((tmp_path / "embedded" / "services.json").read_text())
        password = (tmp_path / "embedded" / "password").read_text().strip()
        graph = redis.Redis(port=state["graph_port"], password=password)
        reply = graph.execute_command(
            "GRAPH.RO_QUERY", "pingraph", "MATCH (u:User) RETURN count(u)"
        )
        migrations = graph.execute_command(
            "GRAPH.RO_QUERY", "pingraph", "MATCH (m:Migration) RETURN count(m)"
        )
        graph.close()
        assert reply[1] == [[200]]
        assert migrations[1] == [[len(list(MIGRATIONS.glob("*.cypher")))]]
        # A token from the CLI signs GraphQL requests in as the demo user.
        issued = subprocess.run(
            [PINGRAPH, "token", "issue", "--handle", "demo", "--role", "user", "--ttl", "60"],
            env=cli_env(tmp_path), capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        token = issued.stdout.strip()
        me = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": "{ me { handle } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert me.json() == {"data": {"me": {"handle": "demo"}}}
        # A new pin reaches the served walk graph live; `walks compact`, run beside the
        # server, folds it into a new snapshot.
        _create_pin(port, token)
        robot = _token(tmp_path, "recommender")
        pending = 0
        while pending == 0 and time.monotonic() < deadline + 30:
            graph_info = httpx.get(
                f"http://127.0.0.1:{port}/walks/graph",
                headers={"Authorization": f"Bearer {robot}"},
            ).json()
            pending = graph_info["pendingDeltas"]
            time.sleep(0.05)
        assert pending == 1
        compacted = subprocess.run(
            [PINGRAPH, "walks", "compact"],
            env=cli_env(tmp_path), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert compacted.returncode == 0, compacted.stderr
        assert f"1 deltas folded into {graph_info['version']}" in compacted.stderr
        # A notebook asks the running server through the analyst helpers.
        cypher = CypherClient(f"http://127.0.0.1:{port}", _token(tmp_path, "analyst"))
        frame = cypher.dataframe(
            "MATCH (u:User {handle: $h})-[:OWNS]->(b:Board) RETURN u, b.name AS board", h="demo"
        )
        assert set(frame["u.handle"]) == {"demo"}
        assert "u.labels" in frame.columns
        assert frame["board"].notna().all()
        graph = cypher.graph(
            "MATCH path = (:User {handle: $h})-[:OWNS]->(:Board) RETURN path", h="demo"
        )
        assert graph.number_of_edges() == len(frame)
        assert graph.number_of_nodes() == len(frame) + 1
        with pytest.raises(CypherError, match="FORBIDDEN"):
            cypher.run("MATCH (n) DETACH DELETE n")
        cypher.close()
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    # Ctrl-C is a graceful shutdown: exit status 0, no traceback.
    assert server.returncode == 0
    assert "Traceback" not in stderr
    assert _redis_servers_under(tmp_path) == []
    # The run command hands out a token for the demo user.
    printed = re.search(r"Authorization: Bearer (\S+)", stderr)
    assert printed is not None, stderr
    # Neither the server nor the CLI was given PINGRAPH_JWT_SECRET: both used the one
    # generated in the data directory.
    secret = (tmp_path / JWT_SECRET_FILE).read_text().strip()
    claims = jwt.decode(printed.group(1), secret, algorithms=["HS256"])
    assert claims["sub"] == jwt.decode(token, secret, algorithms=["HS256"])["sub"]


def _token(data_dir: Path, role: str) -> str:
    issued = subprocess.run(
        [PINGRAPH, "token", "issue", "--handle", "demo", "--role", role, "--ttl", "60"],
        env=cli_env(data_dir), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return issued.stdout.strip()


def _create_pin(port: int, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1:{port}/graphql"
    boards = httpx.post(
        url, json={"query": "{ me { boards(first: 1) { edges { node { id } } } } }"},
        headers=headers,
    ).json()  # fmt: skip
    board = boards["data"]["me"]["boards"]["edges"][0]["node"]["id"]
    created = httpx.post(
        url,
        json={
            "query": 'mutation($b: ID!) { createPin(input: {title: "Live", boardId: $b}) { id } }',
            "variables": {"b": board},
        },
        headers=headers,
    ).json()
    assert "errors" not in created, created


def _serve_fails(tmp_path: Path, *args: str, **env: str) -> str:
    """Run `pingraph serve` expecting start-up to fail; return its one-line error."""
    result = subprocess.run(
        [PINGRAPH, "serve", *args],
        env=cli_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    return result.stderr


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stderr = _serve_fails(tmp_path, "--port", str(port))
    assert "cannot listen on 127.0.0.1" in stderr


def test_graph_server_that_does_not_answer_is_one_clear_line(tmp_path: Path) -> None:
    stderr = _serve_fails(
        tmp_path, "--port", str(free_port()), PINGRAPH_GRAPH_URL="falkordb://127.0.0.1:1"
    )
    assert "graph store does not answer" in stderr
    assert _redis_servers_under(tmp_path) == []


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    stderr = _serve_fails(tmp_path, PINGRAPH_REDIS_URL="http://nope")
    assert "PINGRAPH_REDIS_URL" in stderr


def test_bad_media_public_address_is_one_clear_line(tmp_path: Path) -> None:
    url = "s3+http://k:s@127.0.0.1:1/pins?public=nonsense"
    stderr = _serve_fails(tmp_path, PINGRAPH_MEDIA_URL=url)
    assert "PINGRAPH_MEDIA_URL: the media URL's public= must be an http(s) URL" in stderr


def _workers_of(server: subprocess.Popen[str]) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [
        int(pid) for pid in children if b"--listen-fd" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_workers_share_the_port_and_a_dead_one_is_replaced(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [PINGRAPH, "serve", "--port", str(port), "--workers", "2"],
        env=cli_env(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Only once the parent says every worker serves (one that dies before is a failed
        # start, which stops the server).
        assert server.stderr is not None
        for line in server.stderr:
            if "pingraph is serving on" in line:
                break
        assert _ready(port, server)
        workers = _workers_of(server)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            now = _workers_of(server)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.2)
        assert server.poll() is None, server.communicate(timeout=60)[1]
        assert len(now) == 2, now
        assert workers[0] not in now
        answers = {httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code
                   for _ in range(20)}  # fmt: skip
        assert answers == {200}
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "with 2 workers" in line
    assert "a worker exited; starting another" in stderr
    assert _redis_servers_under(tmp_path) == []


def _ready(port: int, server: subprocess.Popen[str]) -> bool:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            time.sleep(0.2)
    return False
