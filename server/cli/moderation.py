"""`pingraph pins take-down`: an operator removes a pin (abuse, copyright)."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli.common import err, run, settings_or_exit
from server.services import open_stores

pins_cli = typer.Typer(no_args_is_help=True, help="Moderate pins.")


@pins_cli.command("take-down")
def take_down(
    ctx: typer.Context,
    pin_id: Annotated[str, typer.Argument(help="The pin to remove.", show_default=False)],
) -> None:
    """Delete a pin whoever created it. Like every write, it reaches board caches, cached
    answers, feeds and the walk graph of every running server through its domain event."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            await stores.repos.pins.take_down(pin_id)
        err.print(f"pin {pin_id} taken down", highlight=False)

    run(ctx, go())
