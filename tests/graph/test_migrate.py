import uuid
from collections.abc import AsyncIterator

import pytest

from domain.errors import Conflict
from graph.backends.base import Dialect, GraphBackend
from graph.backends.connect import open_backend
from graph.migrate import MigrationError, load, migrate, split_statements, status
from graph.model import Privacy
from graph.repos import Repositories
from server.embedded import Endpoints
from tests.utils.events import RecordedEvents
from tests.utils.factories import make_board, make_pin, make_user


@pytest.fixture
async def fresh(embedded: Endpoints) -> AsyncIterator[GraphBackend]:
    backend = await open_backend(embedded.graph_url, database=f"mig_{uuid.uuid4().hex[:8]}")
    yield backend
    await backend.close()


def test_split_statements_drops_comments() -> None:
    source = "// a comment\nCREATE INDEX a;\n\n// another\nCREATE INDEX b\n  ON x;\n"
    assert split_statements(source) == ["CREATE INDEX a", "CREATE INDEX b\n  ON x"]


@pytest.mark.parametrize("dialect", list(Dialect))
def test_both_dialects_have_the_same_versions(dialect: Dialect) -> None:
    versions = [m.version for m in load(dialect)]
    assert versions == sorted(versions)
    assert versions == [m.version for m in load(Dialect.NEO4J)]


async def test_migrate_applies_in_order_once(fresh: GraphBackend) -> None:
    applied = await migrate(fresh)
    assert [m.version for m in applied] == [m.version for m in load(fresh.dialect)]
    assert await migrate(fresh) == []
    entries = await status(fresh)
    assert all(entry.applied_at is not None for entry in entries)
    # The constraints are live: a duplicate handle is refused by the store itself.
    await fresh.write("CREATE (:User {id: 'a', handle: 'same'})")
    with pytest.raises(Conflict):
        await fresh.write("CREATE (:User {id: 'b', handle: 'same'})")
    await fresh.close()


async def test_changed_migration_is_refused(fresh: GraphBackend) -> None:
    await migrate(fresh)
    await fresh.write("MATCH (m:Migration {version: 1}) SET m.checksum = 'edited'")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(fresh)
    await fresh.close()


async def test_queries_compiled_on_a_fresh_graph_see_later_relationships(
    fresh: GraphBackend,
) -> None:
    """FalkorDB caches plans; one compiled before a relationship type existed must not keep
    matching nothing once it does (the migrations register every type up front)."""
    await migrate(fresh)
    repos = Repositories.over(fresh, RecordedEvents())
    viewer, friend = await make_user(repos), await make_user(repos)
    board = await make_board(repos, friend)
    pin = await make_pin(repos, friend, board)
    await repos.users.follow(viewer.id, friend.id)
    assert [p.id for p in (await repos.feed.home(viewer.id, 10, None)).items] == [pin.id]
    await repos.pins.engage(viewer.id, pin.id, "HIDE")  # the first ENGAGED relationship
    assert (await repos.feed.home(viewer.id, 10, None)).items == []


async def test_queries_compiled_on_a_fresh_graph_see_later_collaborators(
    fresh: GraphBackend,
) -> None:
    """The same for the shared boards' edges (migration 0009 registers both types)."""
    await migrate(fresh)
    repos = Repositories.over(fresh, RecordedEvents())
    owner, friend = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    assert await repos.collaborators.invites_of(friend.id) == []
    assert (await repos.collaborators.shared_with(friend.id, 10, None)).items == []
    assert (await repos.collaborators.members(board.id, 10, None)).items == []
    assert (await repos.feed.home(friend.id, 10, None)).items == []
    invite = await repos.collaborators.invite(owner.id, board.id, friend.id)
    assert [i.id for i in await repos.collaborators.invites_of(friend.id)] == [invite.id]
    await repos.collaborators.accept(friend.id, invite.id)
    pin = await make_pin(repos, owner, board)
    assert [b.id for b in (await repos.collaborators.shared_with(friend.id, 10, None)).items] == [
        board.id
    ]
    assert [u.id for u in (await repos.collaborators.members(board.id, 10, None)).items] == [
        friend.id
    ]
    assert [p.id for p in (await repos.feed.home(friend.id, 10, None)).items] == [pin.id]


async def test_0004_backfills_pin_creator_ids(fresh: GraphBackend) -> None:
    await fresh.write(
        "CREATE (:User {id: 'u1'})-[:CREATED]->(:Pin {id: 'p1'}), (:Pin {id: 'orphan'})"
    )
    applied = await migrate(fresh)
    assert 4 in [m.version for m in applied]
    rows = await fresh.read("MATCH (p:Pin) RETURN p.id AS id, p.creatorId AS creator ORDER BY id")
    assert rows == [{"id": "orphan", "creator": None}, {"id": "p1", "creator": "u1"}]


async def test_comment_and_reaction_reads_compiled_first_see_later_writes(
    fresh: GraphBackend,
) -> None:
    """0010 registers WROTE, ON_PIN and REACTED before any plan that reads them is cached."""
    from graph.repos.comments import ReactionKind

    await migrate(fresh)
    repos = Repositories.over(fresh, RecordedEvents())
    user = await make_user(repos)
    pin = await make_pin(repos, user, await make_board(repos, user))
    assert await repos.comments.counts([pin.id]) == {pin.id: 0}
    assert await repos.comments.reaction_counts([pin.id]) == {pin.id: {}}
    assert await repos.comments.viewer_reactions([pin.id], user.id) == {pin.id: None}
    await repos.comments.add(user.id, pin.id, "first")  # the first WROTE and ON_PIN
    await repos.comments.react(user.id, pin.id, ReactionKind.WOW)  # the first REACTED
    assert await repos.comments.counts([pin.id]) == {pin.id: 1}
    assert await repos.comments.reaction_counts([pin.id]) == {pin.id: {ReactionKind.WOW: 1}}
    assert await repos.comments.viewer_reactions([pin.id], user.id) == {pin.id: ReactionKind.WOW}


async def test_section_reads_compiled_first_see_later_sections(fresh: GraphBackend) -> None:
    """0011 registers HAS_SECTION before any plan that reads it is cached."""
    await migrate(fresh)
    repos = Repositories.over(fresh, RecordedEvents())
    user = await make_user(repos)
    board = await make_board(repos, user)
    pin = await make_pin(repos, user, board)
    assert await repos.sections.of_boards([board.id]) == {board.id: []}
    section = await repos.sections.create(user.id, board.id, "First")  # the first HAS_SECTION
    await repos.pins.save(user.id, pin.id, board.id, section.id)
    found = (await repos.sections.of_boards([board.id]))[board.id]
    assert [(s.id, s.pin_count) for s in found] == [(section.id, 1)]
