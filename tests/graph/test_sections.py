"""Board sections in the graph: who may add, save into and delete them, their pins and
counts, and what a board's deletion or an unsave does to them (both backends)."""

from __future__ import annotations

import pytest

from domain.errors import BadInput, Conflict, Forbidden, NotFound
from events.model import EventType
from graph.model import Board, Privacy, User
from graph.repos import Repositories
from graph.repos.sections import MAX_SECTIONS
from tests.utils.events import RecordedEvents
from tests.utils.factories import make_board, make_pin, make_user, newest_first


async def shared(
    repos: Repositories, privacy: Privacy = Privacy.SECRET
) -> tuple[User, User, Board]:
    owner, member = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=privacy)
    invite = await repos.collaborators.invite(owner.id, board.id, member.id)
    await repos.collaborators.accept(member.id, invite.id)
    return owner, member, board


async def test_create_list_save_move_and_count(
    repos: Repositories, recorded: RecordedEvents
) -> None:
    owner, member, board = await shared(repos)
    kitchen = await repos.sections.create(owner.id, board.id, "  Kitchen ")
    assert kitchen.name == "Kitchen"
    assert kitchen.board_id == board.id
    garden = await repos.sections.create(member.id, board.id, "Garden")  # collaborators add
    assert garden.created_by == member.id
    created = [e for e in recorded.of(EventType.SECTION_CREATED) if e.board == board.id]
    assert len(created) == 2
    pins = [await make_pin(repos, owner, board) for _ in range(3)]
    await repos.pins.save(owner.id, pins[0].id, board.id, kitchen.id)  # moves it in
    await repos.pins.save(member.id, pins[1].id, board.id, kitchen.id)
    await repos.pins.save(owner.id, pins[2].id, board.id, garden.id)
    found = (await repos.sections.of_boards([board.id]))[board.id]
    assert [(s.name, s.pin_count) for s in found] == [("Kitchen", 2), ("Garden", 1)]
    expected = newest_first(pins[:2])  # a save's time is its pin's here
    page = await repos.sections.pins(board.id, kitchen.id, 1, None)
    assert [p.id for p in page.items] == expected[:1]
    assert page.has_next
    rest = await repos.sections.pins(board.id, kitchen.id, 10, page.end_cursor)
    assert [p.id for p in rest.items] == expected[1:]
    assert not rest.has_next
    # Moving: saved again into another section; saving without one keeps it there.
    moved = len(recorded.of(EventType.PIN_MOVED))
    await repos.pins.save(owner.id, pins[0].id, board.id, garden.id)
    await repos.pins.save(owner.id, pins[0].id, board.id, garden.id)  # idempotent
    await repos.pins.save(owner.id, pins[0].id, board.id)
    assert len(recorded.of(EventType.PIN_MOVED)) == moved + 1
    found = (await repos.sections.of_boards([board.id]))[board.id]
    assert [(s.name, s.pin_count) for s in found] == [("Kitchen", 1), ("Garden", 2)]
    assert (await repos.boards.pin_counts([board.id]))[board.id] == 3
    # Unsaving takes the pin out of its section.
    await repos.pins.unsave(owner.id, pins[2].id, board.id)
    found = (await repos.sections.of_boards([board.id]))[board.id]
    assert [(s.name, s.pin_count) for s in found] == [("Kitchen", 1), ("Garden", 1)]


async def test_refusals_change_nothing(repos: Repositories) -> None:
    owner, member, board = await shared(repos)
    outsider = await make_user(repos)
    public = await make_board(repos, owner)
    other = await make_board(repos, owner)
    section = await repos.sections.create(owner.id, board.id, "Ideas")
    elsewhere = await repos.sections.create(owner.id, other.id, "Elsewhere")
    pin = await make_pin(repos, owner, public)
    with pytest.raises(Conflict):
        await repos.sections.create(member.id, board.id, "IDEAS ")
    for bad in ("", "   ", "x" * 51, "a\nb"):
        with pytest.raises(BadInput):
            await repos.sections.create(owner.id, board.id, bad)
    with pytest.raises(NotFound):  # a secret board's sections are unknown to outsiders
        await repos.sections.create(outsider.id, board.id, "Mine")
    with pytest.raises(Forbidden):  # a public board: seen, but not theirs to write to
        await repos.sections.create(outsider.id, public.id, "Mine")
    with pytest.raises(NotFound):
        await repos.pins.save(owner.id, pin.id, board.id, elsewhere.id)  # another board's
    with pytest.raises(NotFound):
        await repos.pins.save(outsider.id, pin.id, board.id, section.id)
    with pytest.raises(BadInput):
        await repos.pins.save(owner.id, pin.id, board.id, "not an id!")
    with pytest.raises(NotFound):
        await repos.sections.delete(outsider.id, section.id)
    with pytest.raises(Forbidden):  # a collaborator deletes only the sections they added
        await repos.sections.delete(member.id, section.id)
    with pytest.raises(NotFound):
        await repos.sections.delete(owner.id, "01NOSUCHSECTION")
    found = (await repos.sections.of_boards([board.id]))[board.id]
    assert [(s.name, s.pin_count) for s in found] == [("Ideas", 0)]
    assert (await repos.boards.pin_counts([board.id]))[board.id] == 0


async def test_cap(repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    for n in range(MAX_SECTIONS):
        await repos.sections.create(owner.id, board.id, f"s{n}")
    with pytest.raises(BadInput):
        await repos.sections.create(owner.id, board.id, "one more")
    assert len((await repos.sections.of_boards([board.id]))[board.id]) == MAX_SECTIONS


async def test_deleting_a_section_keeps_its_pins_and_a_board_its_sections(
    repos: Repositories,
) -> None:
    owner, member, board = await shared(repos)
    mine = await repos.sections.create(member.id, board.id, "Mine")
    theirs = await repos.sections.create(owner.id, board.id, "Theirs")
    pin = await make_pin(repos, owner, board)
    await repos.pins.save(owner.id, pin.id, board.id, mine.id)
    assert await repos.sections.delete(member.id, mine.id) == board.id
    page = await repos.boards.pins_of_visible(board.id, 10, None)
    assert [p.id for p in page.items] == [pin.id]
    assert [s.name for s in (await repos.sections.of_boards([board.id]))[board.id]] == ["Theirs"]
    # Saving it into a section again works; the deleted one is gone.
    with pytest.raises(NotFound):
        await repos.pins.save(owner.id, pin.id, board.id, mine.id)
    await repos.pins.save(owner.id, pin.id, board.id, theirs.id)
    await repos.boards.delete(owner.id, board.id)
    rows = await repos.backend.read(
        "MATCH (s:Section {id: $id}) RETURN s.id AS id", {"id": theirs.id}
    )
    assert rows == []
