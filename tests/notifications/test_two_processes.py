"""Two `pingraph serve` processes sharing one graph store and one Redis: a save through one
reaches a subscriber connected to the other, and stays in the inbox across a restart."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from server.settings import JWT_SECRET_FILE
from tests.utils.live_server import subscribed
from tests.utils.processes import PINGRAPH, cli_env, free_port


@contextmanager
def serving(data_dir: Path, port: int, **env: str) -> Iterator[None]:
    server = subprocess.Popen(
        # One process: the test reads its /metrics, which a pool of workers would answer
        # from whichever worker takes the connection.
        [PINGRAPH, "serve", "--port", str(port), "--workers", "1"],
        env=cli_env(data_dir, **env),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the server did not become ready"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        if server.stderr:
            server.stderr.close()


def _cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [PINGRAPH, *args], env=cli_env(data_dir), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _gql(port: int, token: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def _live_subscribers(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    match = re.search(r"^pingraph_live_subscribers (\S+)$", text, re.MULTILINE)
    return float(match[1]) if match else 0.0


INBOX = "{ me { notifications { edges { node { id kind actors { handle } pin { id } } } } } }"


async def test_a_save_through_one_process_reaches_a_subscriber_of_the_other(
    tmp_path: Path,
) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first, second = free_port(), free_port()
    with serving(first_dir, first):
        state = json.loads((first_dir / "embedded" / "services.json").read_text())
        password = (first_dir / "embedded" / "password").read_text().strip()
        shared = {
            "PINGRAPH_GRAPH_URL": f"falkordb://:{password}@127.0.0.1:{state['graph_port']}",
            "PINGRAPH_ANALYST_GRAPH_URL": f"falkordb://:{password}@127.0.0.1:{state['analyst_port']}",
            "PINGRAPH_REDIS_URL": f"redis://:{password}@127.0.0.1:{state['cache_port']}/0",
            # Servers of one deployment share the secret; each data directory has its own.
            "PINGRAPH_JWT_SECRET": (first_dir / JWT_SECRET_FILE).read_text().strip(),
        }
        for handle in ("alice", "bob"):
            _cli(first_dir, "user", "create", "--handle", handle)
        alice, bob = (
            _cli(first_dir, "token", "issue", "--handle", h, "--role", "user", "--ttl", "600")
            for h in ("alice", "bob")
        )
        create_board = 'mutation { createBoard(input: {name: "Mine"}) { id } }'
        alices_board = _gql(first, alice, create_board)["createBoard"]["id"]
        bobs_board = _gql(first, bob, create_board)["createBoard"]["id"]
        pin = _gql(
            first, alice,
            'mutation($b: ID!) { createPin(input: {title: "Lamp", boardId: $b}) { id } }',
            b=alices_board,
        )["createPin"]["id"]  # fmt: skip

        with serving(second_dir, second, **shared):
            async with subscribed(f"ws://127.0.0.1:{second}", alice) as subscription:
                deadline = time.monotonic() + 30
                while _live_subscribers(second) < 1:
                    assert time.monotonic() < deadline, "the subscription never registered"
                    await asyncio.sleep(0.05)
                save = "mutation($p: ID!, $b: ID!) { savePin(pinId: $p, boardId: $b) { id } }"
                _gql(first, bob, save, p=pin, b=bobs_board)
                async with asyncio.timeout(30):
                    payload = await subscription.next()
        added = payload["data"]["notificationAdded"]
        assert added["kind"] == "PIN_SAVED"
        assert added["actors"] == [{"handle": "bob"}]
        assert added["pin"] == {"id": pin}

    # Every process stopped, the stores too (the first owned them): the inbox is on disk.
    with serving(first_dir, first):
        [edge] = _gql(first, alice, INBOX)["me"]["notifications"]["edges"]
    assert edge["node"] == {
        "id": added["id"],
        "kind": "PIN_SAVED",
        "actors": [{"handle": "bob"}],
        "pin": {"id": pin},
    }
