"""Comments and reactions in the graph store, on every backend (the contract suite)."""

import pytest

from domain.errors import BadInput, Forbidden, NotFound
from events.model import EventType
from graph.model import Privacy
from graph.repos import Repositories
from graph.repos.comments import MAX_COMMENT, ReactionKind, comment_text
from tests.utils.events import RecordedEvents
from tests.utils.factories import make_board, make_pin, make_user


async def test_comments_list_newest_first_and_page(repos: Repositories) -> None:
    creator, reader = await make_user(repos), await make_user(repos)
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    made = [await repos.comments.add(reader.id, pin.id, f" note {i} ") for i in range(5)]
    assert made[0].text == "note 0"
    assert made[0].author_id == reader.id
    assert made[0].pin_creator_id == creator.id
    first = await repos.comments.of_pin(pin.id, 3, None)
    expected = [c.id for c in sorted(made, key=lambda c: (c.created_at, c.id), reverse=True)]
    assert [c.id for c in first.items] == expected[:3]
    assert first.has_next
    rest = await repos.comments.of_pin(pin.id, 3, first.end_cursor)
    assert [c.id for c in rest.items] == expected[3:]
    assert not rest.has_next
    assert await repos.comments.counts([pin.id, "nosuchpin"]) == {pin.id: 5, "nosuchpin": 0}


async def test_comments_follow_pin_visibility(repos: Repositories) -> None:
    owner, outsider = await make_user(repos), await make_user(repos)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, secret)
    with pytest.raises(NotFound):
        await repos.comments.add(outsider.id, pin.id, "hello")
    with pytest.raises(NotFound):
        await repos.comments.react(outsider.id, pin.id, ReactionKind.LOVE)
    with pytest.raises(NotFound):
        await repos.comments.add(outsider.id, "01NOSUCHPIN00000000000000", "hello")
    mine = await repos.comments.add(owner.id, pin.id, "only for me")
    with pytest.raises(NotFound):
        await repos.comments.delete(outsider.id, mine.id)
    with pytest.raises(NotFound):
        await repos.comments.delete(owner.id, "01NOSUCHCOMMENT0000000000")
    assert [c.id for c in (await repos.comments.of_pin(pin.id, 5, None)).items] == [mine.id]


async def test_author_and_pin_creator_delete_others_cannot(
    repos: Repositories, recorded: RecordedEvents
) -> None:
    creator, author, other = [await make_user(repos) for _ in range(3)]
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    first = await repos.comments.add(author.id, pin.id, "one")
    second = await repos.comments.add(author.id, pin.id, "two")
    with pytest.raises(Forbidden):
        await repos.comments.delete(other.id, first.id)
    await repos.comments.delete(author.id, first.id)
    await repos.comments.delete(creator.id, second.id)
    assert (await repos.comments.of_pin(pin.id, 5, None)).items == []
    with pytest.raises(NotFound):
        await repos.comments.delete(author.id, first.id)
    deleted = [e for e in recorded.events if e.type is EventType.COMMENT_DELETED]
    assert {(e.actor, e.comment, e.pin) for e in deleted[-2:]} == {
        (author.id, first.id, pin.id),
        (creator.id, second.id, pin.id),
    }


async def test_one_reaction_per_user_replaced_and_removed(
    repos: Repositories, recorded: RecordedEvents
) -> None:
    creator, fan, other = [await make_user(repos) for _ in range(3)]
    pin = await make_pin(repos, creator, await make_board(repos, creator))
    await repos.comments.react(fan.id, pin.id, ReactionKind.LOVE)
    await repos.comments.react(fan.id, pin.id, ReactionKind.LOVE)
    await repos.comments.react(other.id, pin.id, ReactionKind.LOVE)
    assert await repos.comments.reaction_counts([pin.id]) == {pin.id: {ReactionKind.LOVE: 2}}
    await repos.comments.react(fan.id, pin.id, ReactionKind.WOW)
    assert await repos.comments.reaction_counts([pin.id]) == {
        pin.id: {ReactionKind.LOVE: 1, ReactionKind.WOW: 1}
    }
    assert await repos.comments.viewer_reactions([pin.id], fan.id) == {pin.id: ReactionKind.WOW}
    assert await repos.comments.viewer_reactions([pin.id], None) == {pin.id: None}
    await repos.comments.react(fan.id, pin.id, None)
    await repos.comments.react(fan.id, pin.id, None)  # nothing left to remove
    assert await repos.comments.viewer_reactions([pin.id], fan.id) == {pin.id: None}
    assert await repos.comments.reaction_counts([pin.id]) == {pin.id: {ReactionKind.LOVE: 1}}
    mine = [e.type for e in recorded.events if e.pin == pin.id and e.actor == fan.id]
    # The repeated LOVE and the second removal changed nothing, so published nothing.
    assert mine == [EventType.PIN_REACTED, EventType.PIN_REACTED, EventType.PIN_UNREACTED]


async def test_deleting_a_pin_or_its_board_removes_comments_and_reactions(
    repos: Repositories,
) -> None:
    creator, fan = await make_user(repos), await make_user(repos)
    board = await make_board(repos, creator)
    pin = await make_pin(repos, creator, board)
    orphan = await make_pin(repos, creator, board)
    taken = await make_pin(repos, creator, board)
    for each in (pin, orphan, taken):
        await repos.comments.add(fan.id, each.id, "nice")
        await repos.comments.react(fan.id, each.id, ReactionKind.THANKS)
    await repos.pins.delete(creator.id, pin.id)
    await repos.pins.take_down(taken.id)
    await repos.boards.delete(creator.id, board.id)
    rows = await repos.backend.read(
        "MATCH (u:User {id: $id}) WITH u MATCH (u)-[:WROTE]->(c:Comment) RETURN count(c) AS n",
        {"id": fan.id},
    )
    assert rows[0]["n"] == 0
    rows = await repos.backend.read(
        "MATCH (u:User {id: $id}) WITH u MATCH (u)-[r:REACTED]->() RETURN count(r) AS n",
        {"id": fan.id},
    )
    assert rows[0]["n"] == 0


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * (MAX_COMMENT + 1), "bell\x07", "nul\x00", "c1\x85c1", "del\x7fdel"],
)
def test_bad_comment_text(text: str) -> None:
    with pytest.raises(BadInput):
        comment_text(text)


def test_comment_text_is_trimmed_plain_text() -> None:
    assert comment_text("  <b>bold</b>\n\tline two  ") == "<b>bold</b>\n\tline two"
    assert comment_text("cr\rlf\r\nend") == "cr\nlf\nend"  # carriage returns become \n
    assert comment_text("é" * MAX_COMMENT) == "é" * MAX_COMMENT
