"""`pingraph media gc`: stored images no pin uses."""

from __future__ import annotations

from typing import Annotated

import typer

from server.cli.admin import apply_migrations
from server.cli.common import err, run, settings_or_exit
from server.services import open_stores

media_cli = typer.Typer(no_args_is_help=True, help="Manage stored images.")


@media_cli.command("gc")
def media_gc(
    ctx: typer.Context,
    grace_hours: Annotated[
        float, typer.Option(min=0, help="Keep images used or uploaded within this many hours.")
    ] = 24.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, delete nothing.")] = False,
) -> None:
    """Delete stored images that no pin uses (uploads whose pin never came, deleted pins)."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            await apply_migrations(stores.graph, quiet=True)
            with err.status("looking for unused images..."):
                found = await stores.images.collect_garbage(
                    stores.repos.pins.image_keys_in_use,
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

    run(ctx, go())
