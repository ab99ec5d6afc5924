"""`pingraph migrate`, `pingraph user create` and `pingraph token issue`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from domain.identity import Role
from graph import migrate as migrate_module
from graph.backends.base import GraphBackend
from graph.migrate import Migration, MigrationError
from server.auth import DEFAULT_TTL_S, MAX_TTL_S, issue_token
from server.cli.common import err, fail, out, run, settings_or_exit
from server.services import open_stores


async def apply_migrations(backend: GraphBackend, *, quiet: bool = False) -> None:
    def announce(migration: Migration) -> None:
        err.print(f"applying migration {migration.version:04d}_{migration.name}")

    try:
        applied = await migrate_module.migrate(backend, progress=announce)
    except MigrationError as error:
        fail(str(error))
    if not quiet or applied:
        err.print(f"migrations: {len(applied)} applied, schema up to date")


def migrate(
    ctx: typer.Context,
    show_status: Annotated[
        bool, typer.Option("--status", help="List migrations and whether each is applied.")
    ] = False,
) -> None:
    """Apply pending schema migrations (constraints, indexes) to the graph."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            if not show_status:
                await apply_migrations(stores.graph)
                return
            entries = await migrate_module.status(stores.graph)
            table = Table("version", "name", "applied at", "checksum")
            for entry in entries:
                when = "pending"
                if entry.applied_at is not None:
                    when = datetime.fromtimestamp(entry.applied_at / 1000, UTC).isoformat()
                m = entry.migration
                table.add_row(f"{m.version:04d}", m.name, when, m.checksum[:12])
            out.print(table)

    run(ctx, go())


user_cli = typer.Typer(no_args_is_help=True, help="Manage users.")


@user_cli.command("create")
def user_create(
    ctx: typer.Context,
    handle: Annotated[str, typer.Option(help="Unique handle: 3-30 of a-z, 0-9, _.")],
    display_name: Annotated[str | None, typer.Option(help="Shown name (default: handle).")] = None,
    lang: Annotated[str, typer.Option(help="Two-letter language code.")] = "en",
) -> None:
    """Create a user and print its id."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            await apply_migrations(stores.graph, quiet=True)
            user = await stores.repos.users.create(handle, display_name, lang)
            out.print(user.id, highlight=False)

    run(ctx, go())


token_cli = typer.Typer(no_args_is_help=True, help="Issue API tokens.")


@token_cli.command("issue")
def token_issue(
    ctx: typer.Context,
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
        async with open_stores(settings) as stores:
            user = await stores.repos.users.by_handle(handle)
            secret = settings.jwt_secret.get_secret_value()
            typer.echo(issue_token(secret, user.id, role or [Role.USER], ttl))

    run(ctx, go())
