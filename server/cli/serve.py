"""`pingraph serve`: uvicorn on the app, whose lifespan opens every service."""

from __future__ import annotations

import os
import socket
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn
from starlette.applications import Starlette

from domain.errors import NotFound
from domain.identity import Role
from graph.demo import seed as seed_module
from graph.demo.seed import Sizes
from server.app import create_app
from server.auth import issue_token
from server.cli.common import err, fail, run, settings_or_exit
from server.cli.seed import load_with_progress
from server.cli.workers import default_workers, supervise
from server.embedded import die_with_parent
from server.services import Prepare, Stores
from server.settings import Settings

DEMO_HANDLE = "demo"
DEMO_TOKEN_TTL_S = 24 * 3600


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default PINGRAPH_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default PINGRAPH_PORT).")] = None,
    demo: Annotated[bool, typer.Option(help="Load demo data when the graph is empty.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Server processes (default: the machine's cores)."),
    ] = None,
    listen_fd: Annotated[int | None, typer.Option(hidden=True)] = None,
    ready_fd: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Serve the API (GraphQL, walks, Cypher, media) with uvicorn, in one process per core."""
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = settings_or_exit(quiet=False, **overrides)
    if listen_fd is not None:  # one of the processes of `serve --workers N`
        die_with_parent()  # a worker must not outlive the stores its parent owns
        sock = socket.socket(fileno=listen_fd)
        run(ctx, serve_app(create_app(settings), sock, settings, ready_fd=ready_fd))
        return
    sock = bind_socket(settings.host, settings.port)
    prepare = load_demo(print_token=settings.is_dev) if demo else None
    count = workers or default_workers()
    if count == 1:
        run(ctx, serve_app(create_app(settings, prepare=prepare), sock, settings))
        return
    run(ctx, supervise(settings, sock, count, prepare=prepare))


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {error.strerror}")
    sock.set_inheritable(True)
    return sock


class GracefulServer(uvicorn.Server):
    """A signal ends in a graceful shutdown and exit status 0.

    uvicorn re-raises the signal after shutting down; under asyncio.run that becomes a
    KeyboardInterrupt or not depending on timing, so the exit status would be random.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


class WorkerServer(GracefulServer):
    """A pool worker's server: once it listens, it writes one byte to its parent's pipe."""

    def __init__(self, config: uvicorn.Config, ready_fd: int) -> None:
        super().__init__(config)
        self.ready_fd = ready_fd

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            os.write(self.ready_fd, b"1")
        os.close(self.ready_fd)


def uvicorn_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    """How `pingraph serve` runs uvicorn on the app.

    The app's lifespan is entered by the caller rather than by uvicorn, so that a service
    that cannot start is one clear line (uvicorn would log the traceback and exit quietly).
    Forwarding headers are believed only from PINGRAPH_TRUSTED_PROXIES: uvicorn's default
    trusts them from 127.0.0.1, so any local client could pick its own address and with it
    its rate-limit budget.
    """
    trusted = settings.trusted_proxy_list
    return uvicorn.Config(
        app,
        loop="none",
        http="httptools",
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
    )


async def serve_app(
    app: Starlette, sock: socket.socket, settings: Settings, *, ready_fd: int | None = None
) -> None:
    """Serve until a signal. A worker of a pool says it is ready by a byte on `ready_fd`
    instead of printing the address (its parent does, once every worker is ready)."""
    config = uvicorn_config(app, settings)
    server = GracefulServer(config) if ready_fd is None else WorkerServer(config, ready_fd)
    async with app.router.lifespan_context(app):
        if ready_fd is None:
            host, port = sock.getsockname()[:2]
            base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
            err.print(
                f"pingraph is serving on {base}  (health: {base}/readyz)",
                highlight=False,
                soft_wrap=True,
            )
        await server.serve(sockets=[sock])


def load_demo(*, print_token: bool) -> Prepare:
    async def prepare(stores: Stores) -> None:
        if await seed_module.is_empty(stores.graph):
            err.print("the graph is empty: loading demo data (pingraph seed --small)")
            graph = seed_module.generate(Sizes.small())
            await load_with_progress(stores, graph, images=True, visual=True)
        if print_token:
            await print_demo_token(stores)

    return prepare


async def print_demo_token(stores: Stores) -> None:
    """Hand the developer a ready token for the demo user (development mode only)."""
    try:
        demo_user = await stores.repos.users.by_handle(DEMO_HANDLE)
    except NotFound:
        return
    secret = stores.settings.jwt_secret.get_secret_value()
    token = issue_token(secret, demo_user.id, [Role.USER], DEMO_TOKEN_TTL_S)
    err.print(
        f"demo token for @{DEMO_HANDLE} (valid 24 h; `pingraph token issue --handle ...` "
        f"makes others):\n  Authorization: Bearer {token}",
        highlight=False,
        soft_wrap=True,
    )
