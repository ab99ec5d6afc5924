"""`visual index`'s backfill: pins with an image and no embedding get one; others are left."""

from __future__ import annotations

import io

from graph.repos import Repositories
from graph.repos.pins import NewPin
from media.photos import load_photo
from server.services import Services
from tests.utils.events_drain import drained
from tests.utils.factories import make_board, make_user
from visual.backfill import backfill

FORGET = "MATCH (p:Pin) WHERE p.id IN $ids SET p.embedding = NULL"
MISSING_IMAGE = "MATCH (p:Pin {id: $id}) SET p.imageKey = $key"


async def test_backfill_indexes_what_is_missing_and_skips_what_is_gone(
    services: Services, repos: Repositories
) -> None:
    user = await make_user(repos)
    board = await make_board(repos, user)
    out = io.BytesIO()
    load_photo("astronaut.png").save(out, "JPEG", quality=80)
    info = (await services.images.upload(out.getvalue())).info
    pins = [
        await repos.pins.create(user.id, NewPin(title=f"p{i}", board_id=board.id,
                                                image_key=info.key, width=info.width,
                                                height=info.height))
        for i in range(3)
    ]  # fmt: skip
    await drained(services.cache)
    ids = [pin.id for pin in pins]
    assert all([await repos.visual.embedding_of(pin_id) for pin_id in ids])
    await repos.backend.write(FORGET, {"ids": ids})
    await repos.backend.write(MISSING_IMAGE, {"id": ids[2], "key": "f" * 64})
    assert await repos.visual.embedding_of(ids[0]) is None

    reported: list[tuple[int, int]] = []
    indexed, seen = await backfill(
        services.visual, repos.visual, progress=lambda done, total: reported.append((done, total))
    )
    assert await repos.visual.embedding_of(ids[0]) is not None
    assert await repos.visual.embedding_of(ids[1]) is not None
    assert await repos.visual.embedding_of(ids[2]) is None  # its image is gone
    assert 2 <= indexed <= seen - 1  # the pin whose image is gone is seen, not indexed
    assert reported[0][0] == 0
    assert reported[-1][0] == reported[-1][1] == seen
    assert [done for done, _ in reported] == sorted(done for done, _ in reported)
    again, seen_again = await backfill(services.visual, repos.visual)
    assert again == 0  # nothing left to index but what cannot be
    assert seen_again >= 1
