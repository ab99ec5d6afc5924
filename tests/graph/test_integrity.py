"""`pingraph doctor`'s checks: silent on a sound graph, naming what breaks the model."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from graph.backends.base import GraphBackend
from graph.backends.connect import open_backend
from graph.integrity import check
from graph.migrate import migrate
from graph.model import Privacy
from graph.repos import Repositories
from server.embedded import Endpoints
from tests.utils.events import RecordedEvents
from tests.utils.factories import make_board, make_pin, make_user


@pytest.fixture
async def fresh(embedded: Endpoints) -> AsyncIterator[GraphBackend]:
    backend = await open_backend(embedded.graph_url, database=f"doctor_{uuid.uuid4().hex[:8]}")
    await migrate(backend)
    yield backend
    await backend.close()


async def test_a_sound_graph_has_no_findings_and_broken_edges_are_named(
    fresh: GraphBackend,
) -> None:
    repos = Repositories.over(fresh, RecordedEvents())
    owner, fan = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, topics=["tea"])
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, board, topics=["cups"])
    await repos.pins.save(owner.id, pin.id, secret.id)
    await repos.users.follow(fan.id, owner.id)
    await repos.boards.follow(fan.id, board.id)
    await repos.topics.follow(fan.id, "tea")
    invite = await repos.collaborators.invite(owner.id, secret.id, fan.id)
    await repos.collaborators.accept(fan.id, invite.id)
    await repos.collaborators.invite(owner.id, board.id, fan.id)  # pending
    section = await repos.sections.create(owner.id, secret.id, "Cups")
    await repos.pins.save(owner.id, pin.id, secret.id, section.id)
    findings = await check(fresh)
    assert len(findings) == 13
    assert [f for f in findings if f.count] == []
    # What the engine defect wrote: an OWNS edge to a pin, and a board nobody owns.
    await fresh.write(
        "MATCH (u:User {id: $u}), (p:Pin {id: $p}) CREATE (u)-[:OWNS]->(p)",
        {"u": fan.id, "p": pin.id},
    )
    await fresh.write(
        "CREATE (:Board {id: 'orphan', name: 'x', privacy: 'PUBLIC', createdAt: 1})", {}
    )
    broken = {f.rule: f for f in await check(fresh) if f.count}
    assert set(broken) == {"OWNS joins a user to a board", "every board has one owner"}
    assert broken["OWNS joins a user to a board"].examples == [f"{fan.id} -> {pin.id}"]
    assert broken["every board has one owner"].examples == ["orphan has 0 owners"]


async def test_member_ids_that_drift_from_the_edges_are_named(fresh: GraphBackend) -> None:
    repos = Repositories.over(fresh, RecordedEvents())
    owner, friend = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    invite = await repos.collaborators.invite(owner.id, board.id, friend.id)
    await repos.collaborators.accept(friend.id, invite.id)
    await repos.collaborators.leave(friend.id, board.id)
    assert [f for f in await check(fresh) if f.count] == []
    await fresh.write(
        "MATCH (b:Board {id: $b}) SET b.memberIds = [$u]", {"b": board.id, "u": friend.id}
    )
    broken = {f.rule: f for f in await check(fresh) if f.count}
    assert broken["a board's memberIds are its collaborators' ids"].examples == [
        f"{board.id} lists 1 of 0 collaborators"
    ]
