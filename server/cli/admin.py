"""`pingraph migrate`, `pingraph user create|set-password|keygen` and `pingraph token issue`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from accounts.key import new_key
from accounts.passwords import check_password
from domain.errors import BadInput
from domain.identity import Role
from graph import migrate as migrate_module
from graph.backends.base import GraphBackend
from graph.migrate import Migration, MigrationError
from server.auth import DEFAULT_TTL_S, MAX_TTL_S, issue_token
from server.cli.common import err, fail, out, run, settings_or_exit, user_by_handle
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


@user_cli.command("set-password")
def user_set_password(
    ctx: typer.Context,
    handle: Annotated[str, typer.Option(help="The user whose password to set.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from one line of stdin."),
    ] = False,
) -> None:
    """Set a user's password (asked twice, hidden), whatever it was or whether it had one.
    The user's sessions end at their next refresh; access tokens issued before run out."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            await apply_migrations(stores.graph, quiet=True)
            user = await user_by_handle(stores, handle)
            password = read_password(password_stdin)
            await stores.accounts.set_password(user, password)
            err.print(f"password set for {user.handle}", highlight=False)

    run(ctx, go())


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or typed twice without echo. Checked against
    the rules at once, so a weak one is refused before anything is hashed."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            fail("--password-stdin: standard input is empty")
        password = line.removesuffix("\n").removesuffix("\r")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password)
    except BadInput as error:
        fail(str(error))
    return password


@user_cli.command("keygen")
def keygen() -> None:
    """Print a new key for PINGRAPH_PASSWORD_KEY, which seals stored password hashes.
    Touches no store. Keep it secret, and keep it: with another key every stored password
    stops working."""
    typer.echo(f"PINGRAPH_PASSWORD_KEY={new_key()}")


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
            user = await user_by_handle(stores, handle)
            secret = settings.jwt_secret.get_secret_value()
            typer.echo(issue_token(secret, user.id, role or [Role.USER], ttl))

    run(ctx, go())
