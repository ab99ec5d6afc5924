"""Trending over the graph store: time-decayed public saves in a window."""

from __future__ import annotations

import pytest

from graph.model import Privacy, now_ms
from graph.repos import Repositories
from graph.repos.trending import DAY_S, PinSaves, Ranking, rank
from tests.utils.factories import (
    boards_of,
    make_board,
    make_pin,
    make_user,
    saved_to,
    unique_handle,
)

WEEK_S = 7 * DAY_S
DAY_MS = DAY_S * 1000
# Saves are dated by the server; a test moves some into the past.
BACKDATE = """
MATCH (:Pin {id: $pin})-[s:SAVED_TO]->(:Board {id: $board})
SET s.at = $at
"""


async def ranking(repos: Repositories, now: int | None = None) -> Ranking:
    return await repos.trending.compute(
        now=now_ms() if now is None else now, window_s=WEEK_S, half_life_s=DAY_S
    )


def scores(scored: list[tuple[str, float]]) -> dict[str, float]:
    return dict(scored)


async def test_a_burst_of_recent_saves_outranks_older_popularity(repos: Repositories) -> None:
    topic = unique_handle("trend")
    creator, saver = await make_user(repos), await make_user(repos)
    home = await make_board(repos, creator)
    boards = await boards_of(repos, saver, 9)
    started = now_ms()
    ancient = await make_pin(repos, creator, home, topics=[topic])  # out of the window
    await saved_to(repos, ancient, boards)
    old = await make_pin(repos, creator, home, topics=[topic])  # more saves, but older
    await saved_to(repos, old, boards[:7])
    for board in [home, *boards]:
        at = started - 3 * DAY_MS
        await repos.backend.write(BACKDATE, {"pin": old.id, "board": board.id, "at": at})
        at = started - 8 * DAY_MS
        await repos.backend.write(BACKDATE, {"pin": ancient.id, "board": board.id, "at": at})
    burst = await make_pin(repos, creator, home, topics=[topic])
    await saved_to(repos, burst, boards[:3])

    found = await ranking(repos)
    assert found.pin_ids(topic) == [burst.id, old.id]
    by_pin = scores(found.topics[topic])
    assert by_pin[burst.id] == pytest.approx(4.0, rel=1e-3)  # four saves of today
    assert by_pin[old.id] == pytest.approx(8 * 0.5**3, rel=1e-3)  # eight of three days ago
    assert burst.id in found.pin_ids()
    by_board = scores(found.boards)
    assert by_board[home.id] == pytest.approx(1.0 + 0.125, rel=1e-3)  # burst's and old's
    assert boards[8].id not in by_board  # only the ancient pin was saved there


async def test_saves_to_secret_boards_never_count(repos: Repositories) -> None:
    topic = unique_handle("trend")
    creator, saver = await make_user(repos), await make_user(repos)
    home = await make_board(repos, creator)
    secret = await boards_of(repos, saver, 5, Privacy.SECRET)
    public = await make_board(repos, saver)
    only_secret = await make_pin(repos, saver, secret[0], topics=[topic])
    await saved_to(repos, only_secret, secret[1:])
    lifted = await make_pin(repos, creator, home, topics=[topic])  # one public save
    await saved_to(repos, lifted, secret)
    fair = await make_pin(repos, creator, home, topics=[topic])  # two public saves
    await saved_to(repos, fair, [public])

    found = await ranking(repos)
    assert found.pin_ids(topic) == [fair.id, lifted.id]
    assert scores(found.topics[topic])[lifted.id] == pytest.approx(1.0, rel=1e-3)
    assert only_secret.id not in found.pin_ids()
    assert (
        public.id in found.board_ids()
    )  # one save, and it counts: the secret ones would have more
    assert not {board.id for board in secret} & set(found.board_ids())

    # A board made secret stops counting at the next computation.
    await repos.boards.update(saver.id, public.id, privacy=Privacy.SECRET)
    again = await ranking(repos)
    assert scores(again.topics[topic]) == pytest.approx({fair.id: 1.0, lifted.id: 1.0}, rel=1e-3)
    assert public.id not in again.board_ids()


async def test_the_window_ends_at_the_newest_public_save(repos: Repositories) -> None:
    """A graph nobody writes to any more (the demo's) trends over its own last week."""
    topic = unique_handle("trend")
    creator = await make_user(repos)
    home = await make_board(repos, creator)
    pin = await make_pin(repos, creator, home, topics=[topic])
    hideout = await make_board(repos, creator, privacy=Privacy.SECRET)
    await make_pin(repos, creator, hideout)  # newer, but secret: not where the window ends
    newest = await repos.trending.newest_public_save(now=now_ms(), window_s=WEEK_S)
    assert newest == pin.created_at

    a_month_later = now_ms() + 30 * DAY_MS
    found = await ranking(repos, now=a_month_later)
    assert found.anchor == pin.created_at
    assert found.computed_at == a_month_later
    assert scores(found.topics[topic]) == {pin.id: 1.0}
    before_it = await ranking(repos, now=1)
    assert (before_it.anchor, before_it.pins, before_it.boards) == (None, [], [])


def test_scores_halve_every_half_life_and_lists_keep_the_best() -> None:
    anchor = 1_000 * DAY_MS
    pins = [
        PinSaves("p1", [("b1", anchor), ("b2", anchor - DAY_MS)], ["cats"]),
        PinSaves("p2", [("b1", anchor - 2 * DAY_MS)], ["cats", "dogs"]),
        PinSaves("p3", [("b2", anchor), ("b3", anchor)], []),
        PinSaves("p4", [("b3", anchor - DAY_MS), ("b3", anchor - DAY_MS)], ["dogs"]),
    ]
    found = rank(pins, computed_at=anchor + 5, anchor=anchor, half_life_s=DAY_S, top=3)
    assert found.pins == [("p3", 2.0), ("p1", 1.5), ("p4", 1.0)]
    assert found.topics == {
        "cats": [("p1", 1.5), ("p2", 0.25)],
        "dogs": [("p4", 1.0), ("p2", 0.25)],
    }
    assert found.boards == [("b3", 2.0), ("b2", 1.5), ("b1", 1.25)]
    assert found.pin_ids("dogs") == ["p4", "p2"]
    assert found.pin_ids("birds") == []
    assert found.pin_ids_of_topics(["dogs", "cats"]) == ["p1", "p4", "p2"]
    ties = rank([PinSaves(pin, [("b", anchor)], []) for pin in ("a", "c", "b")],
                computed_at=anchor, anchor=anchor, half_life_s=DAY_S)  # fmt: skip
    assert ties.pin_ids() == ["c", "b", "a"]  # newest id first
    assert rank(pins, computed_at=anchor, anchor=None, half_life_s=DAY_S) == Ranking(anchor, None)


async def test_any_public_tells_whether_a_write_touched_a_public_board(
    repos: Repositories,
) -> None:
    owner = await make_user(repos)
    [secret] = await boards_of(repos, owner, 1, Privacy.SECRET)
    [public] = await boards_of(repos, owner, 1)
    assert not await repos.trending.any_public([secret.id])
    assert not await repos.trending.any_public(["01J000000000000000000NOPE0"])
    assert await repos.trending.any_public([secret.id, public.id])
