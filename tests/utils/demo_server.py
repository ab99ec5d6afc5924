"""`pingraph serve --demo` as a user runs it (`scripts/run`): one for the test session, shared
by the browser tests (tests/web) and the docs' examples (tests/docs)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.utils.processes import PINGRAPH, cli_env, free_port

READY_S = 600.0  # a fresh data directory: migrations, the demo graph, its images and embeddings


@dataclass(frozen=True)
class DemoServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    data_dir: Path
    process: subprocess.Popen[bytes]

    def token(self, handle: str = "demo", ttl_s: int = 6 * 3600, *, role: str = "user") -> str:
        """A token for the user `handle`, from `pingraph token issue` on the server's data."""
        issued = subprocess.run(
            [PINGRAPH, "token", "issue", "--handle", handle, "--ttl", str(ttl_s), "--role", role],
            env=server_env(self.data_dir), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert issued.returncode == 0, f"token issue --handle {handle}: {issued.stderr}"
        return issued.stdout.strip()

    def log_tail(self, chars: int = 3000) -> str:
        return (self.data_dir / "server.log").read_text(errors="replace")[-chars:]


def server_env(data_dir: Path) -> dict[str, str]:
    # Generous limits: every request of the session comes from 127.0.0.1.
    return cli_env(
        data_dir,
        PINGRAPH_RATE_LIMIT_USER="100000/minute",
        PINGRAPH_RATE_LIMIT_ANONYMOUS="100000/minute",
        PINGRAPH_SIGN_UPS_PER_ADDRESS="10000/hour",
        PINGRAPH_SIGN_IN_FAILURES_PER_ADDRESS="10000/15 minutes",
    )


def say(config: pytest.Config, message: str) -> None:
    """A progress line on the terminal, past pytest's output capture."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print(message, flush=True)
        return
    with capture.global_and_fixture_disabled():
        print(message, flush=True)


def last_line(log: Path) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
    return lines[-1][:160] if lines else ""


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (a graceful stop of the server, its workers and
    embedded stores), then SIGKILL to whatever of the group is left after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def start_demo_server(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[DemoServer]:
    """`pingraph serve --demo` in a fresh data directory on a free loopback port, ready."""
    data_dir = tmp_path_factory.mktemp("demo-data")
    port = free_port()
    log = data_dir / "server.log"
    command = [PINGRAPH, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]  # fmt: skip
    with log.open("wb") as output:  # the child keeps its own descriptor
        process = subprocess.Popen(
            command, env=server_env(data_dir), stdout=output, stderr=output,
            start_new_session=True,  # its own process group, stopped as one
        )  # fmt: skip
    server = DemoServer(f"http://127.0.0.1:{port}", data_dir, process)
    started = time.monotonic()
    say(pytestconfig, f"\ndemo: starting pingraph serve --demo on :{port} (log: {log})")
    try:
        next_note = started + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"pingraph serve exited ({process.returncode}):\n{server.log_tail()}")
            try:
                if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            now = time.monotonic()
            if now - started > READY_S:
                pytest.fail(f"pingraph serve not ready within {READY_S:.0f} s:\n"
                            f"{server.log_tail()}")  # fmt: skip
            if now >= next_note:
                say(pytestconfig, f"demo: waiting for the demo server ({now - started:.0f} s): "
                                  f"{last_line(log)}")  # fmt: skip
                next_note = now + 15
            time.sleep(0.5)
        say(pytestconfig, f"demo: server ready in {time.monotonic() - started:.0f} s")
        yield server
    finally:
        stop_group(process)
