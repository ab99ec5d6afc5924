"""The `pingraph` command line: one module per command group, assembled here."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli import (
    admin,
    analyst,
    doctor,
    media,
    moderation,
    push,
    seed,
    serve,
    visual,
    walks,
)
from server.cli.common import Options

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, help="pingraph: pins, boards and walks."
)


@cli.callback()
def main_options(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    ctx.obj = Options(debug=debug)


cli.command()(serve.serve)
cli.command()(admin.migrate)
cli.command()(seed.seed)
cli.command()(analyst.cypher)
cli.command()(analyst.export)
cli.command()(doctor.doctor)
cli.add_typer(admin.user_cli, name="user")
cli.add_typer(admin.token_cli, name="token")
cli.add_typer(walks.walks_cli, name="walks")
cli.add_typer(media.media_cli, name="media")
cli.add_typer(moderation.pins_cli, name="pins")
cli.add_typer(push.push_cli, name="push")
cli.add_typer(visual.visual_cli, name="visual")


def main() -> None:
    cli()
