"""The `pingraph` command line."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import uvicorn
import uvloop
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from graph import analyst
from graph import migrate as migrate_module
from graph import seed as seed_module
from graph.backend import GraphBackend
from graph.errors import DomainError, NotFound
from graph.migrate import Migration, MigrationError
from graph.seed import Sizes
from graph.users import UserRepo
from media import demo as demo_images
from resolvers.context import Role
from server import cli_analyst, walk_snapshots
from server.app import create_app
from server.auth import DEFAULT_TTL_S, MAX_TTL_S, issue_token
from server.embedded import EmbeddedError
from server.observability import configure_logging
from server.services import Services, open_services
from server.settings import Settings, SettingsError, load_settings
from walks import graph as walk_graph
from walks.build import DEFAULT_MAX_BOARD_DEGREE, build_and_save
from walks.engine import WalkEngine

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, help="pingraph: pins, boards and walks."
)
err = Console(stderr=True)
out = Console()


DEMO_HANDLE = "demo"
DEMO_TOKEN_TTL_S = 24 * 3600


class State:
    debug = False


@cli.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    State.debug = debug


def settings_or_exit(*, quiet: bool = True, **overrides: Any) -> Settings:
    """Load settings or exit with one line; `quiet` commands log only warnings and errors."""
    try:
        settings = load_settings(**overrides)
    except SettingsError as error:
        fail(str(error))
    level = "warning" if quiet and settings.log_level in ("debug", "info") else settings.log_level
    configure_logging(json=not settings.is_dev, level=level)
    return settings


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]pingraph: error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def run(coro: Coroutine[Any, Any, None]) -> None:
    """Run a command's coroutine; known failures become one clear line and exit status 1."""
    try:
        asyncio.run(coro, loop_factory=uvloop.new_event_loop)
    except (EmbeddedError, DomainError, SettingsError, MigrationError) as error:
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
    settings = settings_or_exit(quiet=False, **overrides)
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


class GracefulServer(uvicorn.Server):
    """A signal ends in a graceful shutdown and exit status 0.

    uvicorn re-raises the signal after shutting down; under asyncio.run that becomes a
    KeyboardInterrupt or not depending on timing, so the exit status would be random.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


async def _serve(settings: Settings, sock: socket.socket, *, demo: bool) -> None:
    async with open_services(settings) as services:
        await apply_migrations(services.graph, quiet=True)
        if demo and await seed_module.is_empty(services.graph):
            err.print("the graph is empty: loading demo data (pingraph seed --small)")
            graph = seed_module.generate(Sizes.small())
            await load_with_progress(services, graph, images=True)
        if demo and settings.is_dev:
            await print_demo_token(services, settings)
        services.walks = await load_walks(services)
        services.live_walks = walk_snapshots.live_walks(services, services.walks)
        follower = asyncio.create_task(services.live_walks.run())
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
        server = GracefulServer(config)
        host, port = sock.getsockname()[:2]
        base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        err.print(
            f"pingraph is serving on {base}  (health: {base}/readyz)",
            highlight=False,
            soft_wrap=True,
        )
        try:
            await server.serve(sockets=[sock])
        finally:
            follower.cancel()


async def print_demo_token(services: Services, settings: Settings) -> None:
    """Hand the developer a ready token for the demo user (development mode only)."""
    try:
        demo_user = await services.repos.users.by_handle(DEMO_HANDLE)
    except NotFound:
        return
    token = issue_token(
        settings.jwt_secret.get_secret_value(), demo_user.id, [Role.USER], DEMO_TOKEN_TTL_S
    )
    err.print(
        f"demo token for @{DEMO_HANDLE} (valid 24 h; `pingraph token issue --handle ...` "
        f"makes others):\n  Authorization: Bearer {token}",
        highlight=False,
        soft_wrap=True,
    )


async def apply_migrations(backend: GraphBackend, *, quiet: bool = False) -> None:
    def announce(migration: Migration) -> None:
        err.print(f"applying migration {migration.version:04d}_{migration.name}")

    try:
        applied = await migrate_module.migrate(backend, progress=announce)
    except MigrationError as error:
        fail(str(error))
    if not quiet or applied:
        err.print(f"migrations: {len(applied)} applied, schema up to date")


@cli.command()
def migrate(
    show_status: Annotated[
        bool, typer.Option("--status", help="List migrations and whether each is applied.")
    ] = False,
) -> None:
    """Apply pending schema migrations (constraints, indexes) to the graph."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_services(settings) as services:
            if not show_status:
                await apply_migrations(services.graph)
                return
            try:
                entries = await migrate_module.status(services.graph)
            except MigrationError as error:
                fail(str(error))
            table = Table("version", "name", "applied at", "checksum")
            for entry in entries:
                when = "pending"
                if entry.applied_at is not None:
                    when = datetime.fromtimestamp(entry.applied_at / 1000, UTC).isoformat()
                m = entry.migration
                table.add_row(f"{m.version:04d}", m.name, when, m.checksum[:12])
            out.print(table)

    run(go())


user_cli = typer.Typer(no_args_is_help=True, help="Manage users.")
cli.add_typer(user_cli, name="user")


@user_cli.command("create")
def user_create(
    handle: Annotated[str, typer.Option(help="Unique handle: 3-30 of a-z, 0-9, _.")],
    display_name: Annotated[str | None, typer.Option(help="Shown name (default: handle).")] = None,
    lang: Annotated[str, typer.Option(help="Two-letter language code.")] = "en",
) -> None:
    """Create a user and print its id."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_services(settings) as services:
            await apply_migrations(services.graph, quiet=True)
            user = await UserRepo(services.graph).create(handle, display_name, lang)
            out.print(user.id, highlight=False)

    run(go())


token_cli = typer.Typer(no_args_is_help=True, help="Issue API tokens.")
cli.add_typer(token_cli, name="token")


@token_cli.command("issue")
def token_issue(
    handle: Annotated[str, typer.Option(help="The user the token speaks for.")],
    role: Annotated[
        list[Role] | None,
        typer.Option(help="A role to grant; repeat for several (default: user)."),
    ] = None,
    ttl: Annotated[
        int, typer.Option(min=1, max=MAX_TTL_S, help="Seconds until the token expires.")
    ] = DEFAULT_TTL_S,
) -> None:
    """Print a signed token (JWT) for a user, for `Authorization: Bearer <token>`."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_services(settings) as services:
            user = await services.repos.users.by_handle(handle)
            secret = settings.jwt_secret.get_secret_value()
            typer.echo(issue_token(secret, user.id, role or [Role.USER], ttl))

    run(go())


async def load_walks(services: Services) -> WalkEngine:
    with Progress(
        TextColumn("{task.description:<18}"), TextColumn("{task.fields[edges]:,} edges"),
        TimeElapsedColumn(), console=err, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("walk graph", total=None, edges=0)

        def progress(boards: int, edges: int) -> None:
            bar.update(task, edges=edges)

        return await walk_snapshots.load_or_build(services, progress)


walks_cli = typer.Typer(no_args_is_help=True, help="Pixie walk-graph snapshots.")
cli.add_typer(walks_cli, name="walks")


@walks_cli.command("build")
def walks_build(
    max_board_degree: Annotated[
        int, typer.Option(min=1, help="Leave out boards with more pins than this.")
    ] = DEFAULT_MAX_BOARD_DEGREE,
    prune_delta: Annotated[
        float | None,
        typer.Option(min=0.1, max=1.0, help="Keep ceil(d**delta) boards of a pin of degree d."),
    ] = None,
) -> None:
    """Build a walk snapshot from the graph store; a running server swaps it in."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_services(settings) as services:
            await apply_migrations(services.graph, quiet=True)
            with Progress(
                TextColumn("exporting public saves"), TextColumn("{task.fields[boards]:,} boards"),
                TextColumn("{task.fields[edges]:,} edges"), TimeElapsedColumn(), console=err,
            ) as bar:  # fmt: skip
                task = bar.add_task("export", total=None, boards=0, edges=0)

                def progress(boards: int, edges: int) -> None:
                    bar.update(task, boards=boards, edges=edges)

                position = await walk_snapshots.stream_position(services)
                path = await build_and_save(
                    services.graph, settings.walks_dir, stream_id=position, progress=progress,
                    max_board_degree=max_board_degree, prune_delta=prune_delta,
                )  # fmt: skip
            built = walk_graph.load(path)
            err.print(
                f"walk graph {built.version}: {built.pins:,} pins, {built.boards:,} boards, "
                f"{built.edges:,} edges, {built.nbytes() / max(built.edges, 1):.1f} bytes/edge, "
                f"built in {built.stats['export_s'] + built.stats['build_s']:.1f}s ({path})",
                highlight=False,
            )

    run(go())


@walks_cli.command("compact")
def walks_compact() -> None:
    """Fold the live deltas logged since the newest snapshot into a new snapshot."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_services(settings) as services:
            path = walk_graph.newest(settings.walks_dir)
            if path is None:
                raise fail("there is no walk snapshot yet: run `pingraph walks build`")
            engine = WalkEngine(walk_graph.load(path), threads=1)
            live = walk_snapshots.live_walks(services, engine)
            with err.status("merging the live deltas..."):
                graph, _ = await live.catch_up(engine.graph, rounds=0)
            if live.resync_since is not None:
                err.print("deltas were lost: rebuilding from the graph store", highlight=False)
                if not await live.resync():
                    raise fail("another process is building a snapshot; try again when it is done")
                err.print(f"rebuilt: walk graph {engine.graph.version}", highlight=False)
                return
            engine.swap(graph)
            if graph.deltas == 0:
                err.print(f"nothing to compact: {path.name} is current", highlight=False)
                return
            written = await live.compact()
            if written is None:
                raise fail("another process is building a snapshot; try again when it is done")
            err.print(
                f"walk graph {written.name}: {graph.deltas:,} deltas folded into {path.name} "
                f"({graph.edges:,} edges)",
                highlight=False,
                soft_wrap=True,
            )

    run(go())


media_cli = typer.Typer(no_args_is_help=True, help="Manage stored images.")
cli.add_typer(media_cli, name="media")


@media_cli.command("gc")
def media_gc(
    grace_hours: Annotated[
        float, typer.Option(min=0, help="Keep images used or uploaded within this many hours.")
    ] = 24.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, delete nothing.")] = False,
) -> None:
    """Delete stored images that no pin uses (uploads whose pin never came, deleted pins)."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_services(settings) as services:
            await apply_migrations(services.graph, quiet=True)
            with err.status("looking for unused images..."):
                found = await services.images.collect_garbage(
                    services.repos.pins.image_keys_in_use,
                    grace_s=grace_hours * 3600,
                    dry_run=dry_run,
                )
            verb = "would delete" if dry_run else "deleted"
            err.print(
                f"{verb} {len(found.images):,} unused images "
                f"({found.objects:,} objects, {found.bytes / 1e6:,.1f} MB)",
                highlight=False,
            )
            for key in found.images[:20] if dry_run else []:
                typer.echo(key)

    run(go())


QueryArgument = Annotated[
    str | None, typer.Argument(help="The Cypher query (or use -f).", show_default=False)
]
FileOption = Annotated[
    Path | None,
    typer.Option("-f", "--file", help="Read the query from a file (- for standard input)."),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="A parameter as name=value (JSON values allowed)."),
]


@cli.command()
def cypher(
    query: QueryArgument = None,
    file: FileOption = None,
    param: ParamOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    limit: Annotated[
        int, typer.Option(min=1, max=analyst.MAX_LIMIT, help="Rows at most.")
    ] = analyst.DEFAULT_LIMIT,
    timeout_ms: Annotated[
        int, typer.Option(min=1, max=analyst.MAX_TIMEOUT_MS, help="Time limit.")
    ] = analyst.DEFAULT_TIMEOUT_MS,
) -> None:
    """Run a read-only Cypher query against the graph store (as POST /cypher does)."""
    if output_format not in ("table", "json", "csv"):
        raise fail("--format must be table, json or csv")
    settings = settings_or_exit()

    async def go() -> None:
        table = await cli_analyst.run_query(
            settings, query, file, param, limit=limit, timeout_ms=timeout_ms
        )
        if output_format == "table":
            Console().print(cli_analyst.rich_table(table))
            more = " (truncated: raise --limit)" if table.truncated else ""
            err.print(f"{len(table.rows):,} rows in {table.elapsed_ms:.0f} ms{more}",
                      highlight=False)  # fmt: skip
        else:
            sys.stdout.write(cli_analyst.as_text(table, output_format))
            if table.truncated:
                err.print(f"truncated at {limit:,} rows: raise --limit", highlight=False)

    run(go())


@cli.command()
def export(
    query: Annotated[str | None, typer.Option("--query", help="The Cypher query.")] = None,
    file: FileOption = None,
    param: ParamOption = None,
    output_format: Annotated[str, typer.Option("--format", help="graphml.")] = "graphml",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=analyst.MAX_LIMIT, help="Rows at most.")
    ] = analyst.MAX_LIMIT,
) -> None:
    """Export the nodes and relationships a read-only query returns, as GraphML (Gephi,
    Cytoscape, yEd, networkx)."""
    if output_format != "graphml":
        raise fail("--format must be graphml")
    settings = settings_or_exit()

    async def go() -> None:
        table = await cli_analyst.run_query(
            settings, query, file, param, limit=limit, timeout_ms=analyst.MAX_TIMEOUT_MS
        )
        nodes, edges = cli_analyst.write_graphml(table, output)
        more = f"; truncated at {limit:,} rows" if table.truncated else ""
        err.print(f"exported {nodes:,} nodes and {edges:,} relationships{more}",
                  highlight=False)  # fmt: skip

    run(go())


@cli.command()
def seed(
    small: Annotated[bool, typer.Option("--small", help="The demo size.")] = False,
    users: Annotated[int, typer.Option(min=1, help="Users to create.")] = 20_000,
    pins: Annotated[int, typer.Option(min=1, help="Pins to create.")] = 200_000,
    saves: Annotated[int, typer.Option(min=1, help="Pin-board saves in all.")] = 1_000_000,
    random_seed: Annotated[int, typer.Option("--seed", help="Same seed, same graph.")] = 7,
    batch: Annotated[int, typer.Option(min=1, max=50_000, help="Rows per write.")] = 5_000,
    images: Annotated[
        bool, typer.Option(help="Give pins generated pictures (a few per topic).")
    ] = True,
) -> None:
    """Load a deterministic Pinterest-like graph into an empty store."""
    settings = settings_or_exit()
    sizes = Sizes.small() if small else Sizes(users=users, pins=pins, saves=saves)
    if sizes.saves < sizes.pins:
        fail("--saves must be at least --pins (every pin is saved where it was created)")

    async def go() -> None:
        async with open_services(settings) as services:
            await apply_migrations(services.graph, quiet=True)
            if not await seed_module.is_empty(services.graph):
                fail("the graph already has users; seed only loads into an empty graph")
            with err.status(f"generating {sizes.saves:,} saves..."):
                graph = seed_module.generate(sizes, random_seed)
            started = time.perf_counter()
            await load_with_progress(services, graph, images=images, batch=batch)
            elapsed = time.perf_counter() - started
            err.print(
                f"loaded {len(graph.users):,} users, {len(graph.boards):,} boards, "
                f"{len(graph.pins):,} pins, {len(graph.saves):,} saves in {elapsed:.1f}s "
                f"({len(graph.saves) / elapsed:,.0f} saves/s overall)"
            )

    run(go())


async def load_with_progress(
    services: Services, graph: seed_module.SeedGraph, *, images: bool, batch: int = 5_000
) -> None:
    with Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done)

        if images:
            await demo_images.attach_images(
                services.images,
                graph.pins,
                progress=lambda done, total: progress("images", done, total),
            )
        await seed_module.load(services.graph, graph, batch=batch, progress=progress)


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
