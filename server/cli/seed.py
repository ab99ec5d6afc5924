"""`pingraph seed`: a deterministic Pinterest-like graph, with progress."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.progress import TaskID

from graph.demo import seed as seed_module
from graph.demo.seed import Shape, Sizes
from graph.migrate import migrate
from media import demo as demo_images
from server.cli.common import err, fail, progress_bar, run, settings_or_exit
from server.services import Stores, open_stores
from visual.backfill import backfill


def seed(
    ctx: typer.Context,
    small: Annotated[bool, typer.Option("--small", help="The demo size.")] = False,
    users: Annotated[int, typer.Option(min=1, help="Users to create.")] = 20_000,
    pins: Annotated[int, typer.Option(min=1, help="Pins to create.")] = 200_000,
    saves: Annotated[int, typer.Option(min=1, help="Pin-board saves in all.")] = 1_000_000,
    random_seed: Annotated[int, typer.Option("--seed", help="Same seed, same graph.")] = 7,
    noise: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="The share of saves that ignore their board's topic (popular pins first).",
        ),
    ] = Shape().noise,
    batch: Annotated[int, typer.Option(min=1, max=50_000, help="Rows per write.")] = 5_000,
    images: Annotated[bool, typer.Option(help="Give pins demo photos (a few per topic).")] = True,
    visual: Annotated[
        bool,
        typer.Option(
            help="Index the pictures for visual search (about 5 KB per pin in the graph)."
        ),
    ] = True,
) -> None:
    """Load a deterministic Pinterest-like graph into an empty store."""
    settings = settings_or_exit()
    sizes = Sizes.small() if small else Sizes(users=users, pins=pins, saves=saves)
    if sizes.saves < sizes.pins:
        fail("--saves must be at least --pins (every pin is saved where it was created)")

    async def go() -> None:
        async with open_stores(settings) as stores:
            await migrate(stores.graph)
            if not await seed_module.is_empty(stores.graph):
                fail("the graph already has users; seed only loads into an empty graph")
            with err.status(f"generating {sizes.saves:,} saves..."):
                graph = seed_module.generate(sizes, random_seed, Shape(noise=noise))
            started = time.perf_counter()
            await load_with_progress(
                stores, graph, images=images, visual=images and visual, batch=batch
            )
            elapsed = time.perf_counter() - started
            err.print(
                f"loaded {len(graph.users):,} users, {len(graph.boards):,} boards, "
                f"{len(graph.pins):,} pins, {len(graph.saves):,} saves in {elapsed:.1f}s "
                f"({len(graph.saves) / elapsed:,.0f} saves/s overall)"
            )

    run(ctx, go())


async def load_with_progress(
    stores: Stores,
    graph: seed_module.SeedGraph,
    *,
    images: bool,
    visual: bool,
    batch: int = 5_000,
) -> None:
    """Bulk-load a generated graph. It goes to the store directly, not through the
    repositories, so no events are published: the walk graph and caches of an empty store
    are built afterwards from what was loaded."""
    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done)

        if images:
            await demo_images.attach_images(
                stores.images,
                graph.pins,
                progress=lambda done, total: progress("images", done, total),
            )
        await seed_module.load(stores.graph, graph, batch=batch, progress=progress)
        if visual:
            await backfill(
                stores.visual,
                stores.repos.visual,
                progress=lambda done, total: progress("visual index", done, total),
            )
