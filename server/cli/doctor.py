"""`pingraph doctor`: check the graph against its model (edges between the wrong kinds of
node, boards without one owner, pins without one creator)."""

from __future__ import annotations

import typer
from rich.table import Table

from graph.integrity import check
from server.cli.common import err, fail, out, run, settings_or_exit
from server.services import open_stores


def doctor(ctx: typer.Context) -> None:
    """Check the graph store's integrity; exit status 1 when something breaks the model.

    The checks read the analysts' replica, so they never slow down or risk the primary."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            with err.status("checking the graph..."):
                findings = await check(stores.analyst)
        table = Table("rule", "breaking it", "examples")
        for finding in findings:
            table.add_row(finding.rule, f"{finding.count:,}", "\n".join(finding.examples))
        out.print(table)
        broken = sum(finding.count for finding in findings)
        if broken:
            fail(f"{broken:,} items break the graph model (see above)")
        err.print("the graph is consistent with its model", highlight=False)

    run(ctx, go())
