"""The `pingraph` command line."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Coroutine
from typing import Annotated, Any

import typer
import uvicorn
import uvloop
from rich.console import Console

from graph.errors import DomainError
from server.app import create_app
from server.embedded import EmbeddedError
from server.observability import configure_logging
from server.services import open_services
from server.settings import Settings, SettingsError, load_settings

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, help="pingraph: pins, boards and walks."
)
err = Console(stderr=True)
out = Console()


class State:
    debug = False


@cli.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    State.debug = debug


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**overrides)
    except SettingsError as error:
        fail(str(error))
    configure_logging(json=not settings.is_dev, level=settings.log_level)
    return settings


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]pingraph: error:[/] {message}", highlight=False)
    raise typer.Exit(1)


def run(coro: Coroutine[Any, Any, None]) -> None:
    """Run a command's coroutine; known failures become one clear line and exit status 1."""
    try:
        asyncio.run(coro, loop_factory=uvloop.new_event_loop)
    except (EmbeddedError, DomainError, SettingsError) as error:
        if State.debug:
            raise
        fail(str(error))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default PINGRAPH_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default PINGRAPH_PORT).")] = None,
    demo: Annotated[bool, typer.Option(help="Load demo data when the graph is empty.")] = False,
) -> None:
    """Serve the API (GraphQL, walks, Cypher, media) with uvicorn."""
    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = settings_or_exit(**overrides)
    sock = bind_socket(settings.host, settings.port)
    run(_serve(settings, sock, demo=demo))


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise fail(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(True)
    return sock


async def _serve(settings: Settings, sock: socket.socket, *, demo: bool) -> None:
    async with open_services(settings) as services:
        app = create_app(settings, services=services)
        config = uvicorn.Config(
            app,
            loop="none",
            http="httptools",
            lifespan="on",
            log_config=None,
            access_log=False,
            server_header=False,
        )
        server = uvicorn.Server(config)
        host, port = sock.getsockname()[:2]
        base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        err.print(
            f"pingraph is serving on {base}  (health: {base}/readyz)",
            highlight=False,
            soft_wrap=True,
        )
        await server.serve(sockets=[sock])


def main() -> None:
    try:
        cli()
    except SystemExit:
        raise
    except Exception as error:
        if State.debug:
            raise
        err.print(f"[bold red]pingraph: error:[/] {type(error).__name__}: {error}", highlight=False)
        sys.exit(1)
