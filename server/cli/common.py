"""What every `pingraph` command shares: settings, consoles, and one way to fail."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
import uvloop
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from domain.errors import DomainError, NotFound
from graph.migrate import MigrationError
from graph.model import User
from server.embedded import EmbeddedError
from server.observability import URL_PASSWORD, configure_logging
from server.services import Stores
from server.settings import EMBEDDED, Settings, SettingsError, load_settings

err = Console(stderr=True)
out = Console()


def progress_bar() -> Progress:
    """Bars on stderr, one per task: its description, how many of how many, time taken."""
    return Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


@dataclass(frozen=True)
class Options:
    """The global options, carried to every command in typer's context (`ctx.obj`)."""

    debug: bool = False


def options(ctx: typer.Context) -> Options:
    found = ctx.find_object(Options)
    return found if found is not None else Options()


def settings_or_exit(*, quiet: bool = True, **overrides: Any) -> Settings:
    """Load settings or exit with one line; `quiet` commands log only warnings and errors."""
    configure_logging(json=False, level="warning")  # stdout is for the command's output
    try:
        settings = load_settings(**overrides)
    except SettingsError as error:
        fail(str(error))
    level = "warning" if quiet and settings.log_level in ("debug", "info") else settings.log_level
    configure_logging(json=not settings.is_dev, level=level)
    return settings


def fail(message: str) -> NoReturn:
    err.print(f"[bold red]pingraph: error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def run(ctx: typer.Context, coro: Coroutine[Any, Any, None]) -> None:
    """Run a command's coroutine: a known failure is one clear line and exit status 1, an
    unexpected one too unless --debug asks for the traceback."""
    try:
        asyncio.run(coro, loop_factory=uvloop.new_event_loop)
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except (EmbeddedError, DomainError, SettingsError, MigrationError) as error:
        if options(ctx).debug:
            raise
        fail(str(error))
    except Exception as error:
        if options(ctx).debug:
            raise
        fail(f"{type(error).__name__}: {error}")


def graph_store(settings: Settings) -> str:
    """Which graph store a command uses, for messages (a URL's password left out)."""
    if settings.graph_url == EMBEDDED:
        return f"the embedded store in {settings.data_dir.resolve()}"
    return URL_PASSWORD.sub(r"\g<head>:***@", settings.graph_url)


async def user_by_handle(stores: Stores, handle: str) -> User:
    """The user, or NotFound saying which store was searched: a second shell with another
    PINGRAPH_DATA_DIR or PINGRAPH_GRAPH_URL than the server's sees another graph."""
    try:
        return await stores.repos.users.by_handle(handle)
    except NotFound as error:
        raise NotFound(
            f"{error} in {graph_store(stores.settings)} (make one with `pingraph user create "
            "--handle ...`, or use the server's PINGRAPH_DATA_DIR / PINGRAPH_GRAPH_URL)"
        ) from None
