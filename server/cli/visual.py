"""`pingraph visual index`: give pins with an image their embedding (visual search)."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli.admin import apply_migrations
from server.cli.common import err, progress_bar, run, settings_or_exit
from server.services import open_stores
from visual.backfill import backfill

visual_cli = typer.Typer(no_args_is_help=True, help="Visual search.")


@visual_cli.command("index")
def visual_index(
    ctx: typer.Context,
    everything: Annotated[
        bool, typer.Option("--all", help="Re-index pins that already have an embedding.")
    ] = False,
) -> None:
    """Embed the images of pins not indexed yet (those created while no server ran, or
    before visual search existed). Safe to stop and run again."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            await apply_migrations(stores.graph, quiet=True)
            with err.status("loading the image model..."):
                await stores.visual.warm()
            with progress_bar() as bar:
                task = bar.add_task("indexing images", total=None)
                indexed, seen = await backfill(
                    stores.visual,
                    stores.repos.visual,
                    everything=everything,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            skipped = f"; {seen - indexed:,} unreadable or gone" if seen > indexed else ""
            err.print(f"indexed {indexed:,} pins{skipped}", highlight=False)

    run(ctx, go())
