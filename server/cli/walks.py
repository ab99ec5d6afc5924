"""`pingraph walks build` and `pingraph walks compact`: walk-graph snapshots, published to the
image store when replicas share it (`walks/publish.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from server.cli.admin import apply_migrations
from server.cli.common import err, fail, run, settings_or_exit
from server.services import Stores, open_stores, published_snapshots
from walks import graph as walk_graph
from walks.build import (
    DEFAULT_MAX_BOARD_DEGREE,
    DEFAULT_MAX_BOARD_ENTROPY,
    DEFAULT_PRUNE_DELTA,
    build_and_save,
)
from walks.engine import WalkEngine
from walks.live import LiveWalks
from walks.publish import SHARE_ERRORS, PublishedSnapshots
from walks.snapshots import stream_position

walks_cli = typer.Typer(no_args_is_help=True, help="Pixie walk-graph snapshots.")


@walks_cli.command("build")
def walks_build(
    ctx: typer.Context,
    max_board_degree: Annotated[
        int, typer.Option(min=1, help="Leave out boards with more pins than this.")
    ] = DEFAULT_MAX_BOARD_DEGREE,
    prune_delta: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=1.0,
            help="Keep the ceil(d**delta) boards of a pin of degree d that are most about its "
            "topics (1 keeps every board).",
        ),
    ] = DEFAULT_PRUNE_DELTA,
    max_board_entropy: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Leave out boards whose pins' topics are spread wider than this many bits "
            "(catch-all boards; 64 keeps every board).",
        ),
    ] = DEFAULT_MAX_BOARD_ENTROPY,
) -> None:
    """Build a walk snapshot from the graph store and publish it; running servers swap it in."""
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
                    max_board_entropy=max_board_entropy,
                )  # fmt: skip
            built = walk_graph.load(path)
            err.print(
                f"walk graph {built.version}: {built.pins:,} pins, {built.boards:,} boards, "
                f"{built.edges:,} edges, {built.nbytes() / max(built.edges, 1):.1f} bytes/edge, "
                f"built in {built.stats['export_s'] + built.stats['build_s']:.1f}s ({path}); "
                f"pruned {built.stats['edges_in'] - built.edges:,} edges, "
                f"{built.stats['dropped_diverse_boards']:,} catch-all boards",
                highlight=False,
            )
            await publish(stores, path)

    run(ctx, go())


async def publish(stores: Stores, path: Path) -> None:
    """Publish a snapshot built here, with progress; exit 1 when the image store fails."""
    shelf = published_snapshots(stores)
    if shelf is None:
        return  # the embedded image directory: servers read this data directory itself
    with showing_transfers(shelf):
        try:
            manifest = await shelf.publish(path)
        except SHARE_ERRORS as error:
            fail(f"walk graph {path.name} is saved in {path.parent} but was not published to "
                 f"the image store: {error}")  # fmt: skip
    if manifest is None:
        newer = await shelf.try_latest_version()
        err.print(f"not published: the image store has a newer walk graph ({newer})",
                  highlight=False, soft_wrap=True)  # fmt: skip
        return
    err.print(
        f"published walk graph {manifest.version} ({manifest.size:,} bytes) to the image "
        "store: servers swap it in within 15 s",
        highlight=False,
        soft_wrap=True,
    )


@contextmanager
def showing_transfers(shelf: PublishedSnapshots | None) -> Iterator[None]:
    """Progress bars on stderr for the snapshot uploads and downloads within the block."""
    if shelf is None:
        yield
        return
    bars = Progress(
        TextColumn("{task.description:<38}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeElapsedColumn(), console=err,
    )  # fmt: skip
    tasks: dict[str, TaskID] = {}

    def report(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = bars.add_task(what, total=total)
        bars.update(tasks[what], completed=done)

    shelf.progress = report
    try:
        with bars:
            yield
    finally:
        shelf.progress = None


@walks_cli.command("compact")
def walks_compact(ctx: typer.Context) -> None:
    """Fold the live deltas logged since the newest snapshot into a new snapshot."""
    settings = settings_or_exit()

    async def go() -> None:
        async with open_stores(settings) as stores:
            shelf = published_snapshots(stores)
            if shelf is not None:
                local = walk_graph.newest(settings.walks_dir)
                with showing_transfers(shelf):
                    await shelf.try_pull(newer_than=local.name if local else "")
            path = walk_graph.newest(settings.walks_dir)
            if path is None:
                fail("there is no walk snapshot yet: run `pingraph walks build`")
            engine = WalkEngine(walk_graph.load(path), threads=1)
            live = LiveWalks(
                engine, stores.walk_deltas, stores.graph, settings.walks_dir, shelf=shelf
            )
            with err.status("merging the live deltas..."):
                graph, _ = await live.catch_up(engine.graph, rounds=0)
            if live.resync_since is not None:
                err.print("deltas were lost: rebuilding from the graph store", highlight=False)
                with showing_transfers(shelf):
                    rebuilt = await live.resync()
                if not rebuilt:
                    fail("another process is building a snapshot; try again when it is done")
                err.print(f"rebuilt: walk graph {engine.graph.version}", highlight=False)
                return
            engine.swap(graph)
            if graph.deltas == 0:
                err.print(f"nothing to compact: {path.name} is current", highlight=False)
                return
            with showing_transfers(shelf):
                written = await live.compact()
            if written is None:
                fail("another process is building a snapshot or has published a newer one; "
                     "try again when it is done")  # fmt: skip
            err.print(
                f"walk graph {written.name}: {graph.deltas:,} deltas folded into {path.name} "
                f"({graph.edges:,} edges)",
                highlight=False,
                soft_wrap=True,
            )

    run(ctx, go())
