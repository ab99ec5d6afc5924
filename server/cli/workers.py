"""`pingraph serve --workers N`: N server processes on one listening socket.

The parent prepares once what the workers share — the embedded stores (it owns them, the
workers attach), the schema migrations, the demo data and the walk snapshot on disk, which
each worker then memory-maps — and starts the workers on the socket it bound. The kernel
hands each new connection to one of them. A worker that dies is started again; SIGINT or
SIGTERM stops them all gracefully, then the embedded stores.

Nothing a worker keeps in memory needs the others: the walk overlay follows the delta
stream in every process, caches are keyed by versions kept in Redis, and event consumers
share their groups' work through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import structlog

from domain.errors import DomainError
from graph.migrate import migrate
from server.cli.common import err
from server.services import Prepare, open_stores, published_snapshots
from server.settings import Settings
from walks.snapshots import load_or_build

log = structlog.get_logger(__name__)

START_TIMEOUT_S = 300  # a worker loads the walk graph and compiles nothing (the cache is warm)
STOP_TIMEOUT_S = 30
RESTARTS_PER_MINUTE = 5
POLL_S = 0.5
# The worker runs the same command line program as the parent.
WORKER_COMMAND = [sys.executable, "-c", "from server.cli import main; main()"]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


async def supervise(
    settings: Settings, sock: socket.socket, count: int, *, prepare: Prepare | None
) -> None:
    async with open_stores(settings) as stores:
        await migrate(stores.graph)
        if prepare is not None:
            await prepare(stores)
        # Built (or pulled) once here, so that the workers load it instead of each building.
        engine = await load_or_build(stores.graph, stores.walk_deltas, settings.walks_dir,
                                     shelf=published_snapshots(stores))  # fmt: skip
        engine.close()
        pool = WorkerPool(sock, count)
        try:
            await pool.start()
            host, port = sock.getsockname()[:2]
            base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
            err.print(f"pingraph is serving on {base} with {count} workers  (health: "
                      f"{base}/readyz)", highlight=False, soft_wrap=True)  # fmt: skip
            await pool.watch()
        finally:
            await pool.stop()


@dataclass
class WorkerPool:
    sock: socket.socket
    count: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def spawn(self, ready_fd: int | None = None) -> subprocess.Popen[bytes]:
        fds = [self.sock.fileno()]
        command = [*WORKER_COMMAND, "serve", "--workers", "1", "--listen-fd", str(fds[0])]
        if ready_fd is not None:
            command += ["--ready-fd", str(ready_fd)]
            fds.append(ready_fd)
        return subprocess.Popen(command, pass_fds=fds)

    async def start(self) -> None:
        """Start every worker and wait until each serves (one byte each on a shared pipe)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        read_fd, write_fd = os.pipe()
        try:
            for _ in range(self.count):
                self.procs.append(self.spawn(write_fd))
        finally:
            os.close(write_fd)  # the workers hold the only write ends now
        with os.fdopen(read_fd, "rb", buffering=0) as ready:
            reader = asyncio.StreamReader()
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), ready
            )
            try:
                await self._wait_ready(reader)
            finally:
                transport.close()

    async def _wait_ready(self, reader: asyncio.StreamReader) -> None:
        waiting = asyncio.ensure_future(reader.readexactly(self.count))
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while not waiting.done():
                if self.stopping.is_set():
                    return
                failed = [proc for proc in self.procs if proc.poll() is not None]
                if failed:
                    raise WorkerFailed(f"a worker exited during start-up (status "
                                       f"{failed[0].returncode}); see its error above")  # fmt: skip
                if time.monotonic() > deadline:
                    raise WorkerFailed(f"the workers did not start within {START_TIMEOUT_S} s")
                await asyncio.wait({waiting}, timeout=POLL_S)
            waiting.result()
        except asyncio.IncompleteReadError:
            raise WorkerFailed("a worker exited during start-up; see its error above") from None
        finally:
            waiting.cancel()

    async def watch(self) -> None:
        """Until SIGINT or SIGTERM: start again any worker that died."""
        while not self.stopping.is_set():
            for index, proc in enumerate(self.procs):
                if proc.poll() is not None and not self.stopping.is_set():
                    self._note_restart(proc)
                    self.procs[index] = self.spawn()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), POLL_S)

    def _note_restart(self, proc: subprocess.Popen[bytes]) -> None:
        now = time.monotonic()
        self.restarts = [at for at in self.restarts if now - at < 60] + [now]
        if len(self.restarts) > RESTARTS_PER_MINUTE:
            raise WorkerFailed(f"workers keep exiting ({len(self.restarts)} in a minute, the "
                               f"last with status {proc.returncode}); stopping")  # fmt: skip
        log.warning("a worker exited; starting another", pid=proc.pid, status=proc.returncode)

    async def stop(self) -> None:
        """SIGTERM (each worker shuts down gracefully), SIGKILL after STOP_TIMEOUT_S."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in self.procs:
            try:
                await asyncio.to_thread(proc.wait, max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)


class WorkerFailed(DomainError):
    """A worker could not start, or keeps exiting: one line, exit status 1."""
