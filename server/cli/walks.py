"""`pingraph walks build` and `pingraph walks compact`: walk-graph snapshots."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from server.cli.admin import apply_migrations
from server.cli.common import err, fail, run, settings_or_exit
from server.services import open_stores
from walks import graph as walk_graph
from walks.build import DEFAULT_MAX_BOARD_DEGREE, build_and_save
from walks.engine import WalkEngine
from walks.live import LiveWalks
from walks.snapshots import stream_position

walks_cli = typer.Typer(no_args_is_help=True, help="Pixie walk-graph snapshots.")


@walks_cli.command("build")
def walks_build(
    ctx: typer.Context,
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
        async with open_stores(settings) as stores:
            await apply_migrations(stores.graph, quiet=True)
            with Progress(
                TextColumn("exporting public saves"), TextColumn("{task.fields[boards]:,} boards"),
                TextColumn("{task.fields[edges]:,} edges"), TimeElapsedColumn(), console=err,
            ) as bar:  # fmt: skip
                task = bar.add_task("export", total=None, boards=0, edges=0)

                def progress(boards: int, edges: int) -> None:
                    bar.update(task, boards=boards, edges=edges)

                position = await stream_position(stores.walk_deltas)
                path = await build_and_save(
                    stores.graph, settings.walks_dir, stream_id=position, progress=progress,
                    max_board_degree=max_board_degree, prune_delta=prune_delta,
                )  # fmt: skip
            built = walk_graph.load(path)
            err.print(
                f"walk graph {built.version}: {built.pins:,} pins, {built.boards:,} boards, "
                f"{built.edges:,} edges, {built.nbytes() / max(built.edges, 1):.1f} bytes/edge, "
                f"built in {built.stats['export_s'] + built.stats['build_s']:.1f}s ({path})",
                highlight=False,
            )

    run(ctx, go())


@walks_cli.command("compact")
def walks_compact(ctx: typer.Context) -> None:
    """Fold the live deltas logged since the newest snapshot into a new snapshot."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            path = walk_graph.newest(settings.walks_dir)
            if path is None:
                fail("there is no walk snapshot yet: run `pingraph walks build`")
            engine = WalkEngine(walk_graph.load(path), threads=1)
            live = LiveWalks(engine, stores.walk_deltas, stores.graph, settings.walks_dir)
            with err.status("merging the live deltas..."):
                graph, _ = await live.catch_up(engine.graph, rounds=0)
            if live.resync_since is not None:
                err.print("deltas were lost: rebuilding from the graph store", highlight=False)
                if not await live.resync():
                    fail("another process is building a snapshot; try again when it is done")
                err.print(f"rebuilt: walk graph {engine.graph.version}", highlight=False)
                return
            engine.swap(graph)
            if graph.deltas == 0:
                err.print(f"nothing to compact: {path.name} is current", highlight=False)
                return
            written = await live.compact()
            if written is None:
                fail("another process is building a snapshot; try again when it is done")
            err.print(
                f"walk graph {written.name}: {graph.deltas:,} deltas folded into {path.name} "
                f"({graph.edges:,} edges)",
                highlight=False,
                soft_wrap=True,
            )

    run(ctx, go())
