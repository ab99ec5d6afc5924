"""Board sections through the GraphQL API: adding and listing them, saving into them and
moving between them, their pins and counts, who may do what, the errors, and the cached
board page showing every change at once."""

from __future__ import annotations

from typing import Any

from graph.model import Privacy
from graph.repos import Repositories
from graph.repos.sections import MAX_SECTIONS
from server.settings import Settings
from tests.api.test_collaborators import REMOVE, share
from tests.utils.apps import client_of, running
from tests.utils.factories import make_board, make_pin, make_user, newest_first
from tests.utils.graphql import Api, code

CREATE = """
mutation($b: ID!, $n: String!) {
  createBoardSection(boardId: $b, name: $n) { id name pinCount createdBy { id } }
}"""
DELETE = "mutation($id: ID!) { deleteBoardSection(id: $id) }"
SAVE = """
mutation($p: ID!, $b: ID!, $s: ID) { savePin(pinId: $p, boardId: $b, sectionId: $s) { id } }"""
UNSAVE = "mutation($p: ID!, $b: ID!) { unsavePin(pinId: $p, boardId: $b) }"
SECTIONS = """
query($id: ID!, $first: Int, $after: String) { board(id: $id) {
  pinCount pins(first: 10) { edges { node { id } } }
  sections { id name pinCount
             pins(first: $first, after: $after) {
               totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } } }"""


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def summary(board: dict[str, Any]) -> list[tuple[str, int]]:
    return [(s["name"], s["pinCount"]) for s in board["sections"]]


async def test_sections_save_move_page_and_delete(api: Api, repos: Repositories) -> None:
    owner, member = await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    await share(api, owner, board, member)
    owner_token, member_token = api.token(owner), api.token(member)
    kitchen = (await api.data(CREATE, {"b": board.id, "n": " Kitchen "}, token=owner_token))[
        "createBoardSection"
    ]
    assert kitchen["name"] == "Kitchen"
    assert kitchen["pinCount"] == 0
    assert kitchen["createdBy"]["id"] == owner.id
    # Collaborators add sections too.
    garden = (await api.data(CREATE, {"b": board.id, "n": "Garden"}, token=member_token))[
        "createBoardSection"
    ]
    pins = [await make_pin(repos, owner, await make_board(repos, owner)) for _ in range(3)]
    for pin in pins[:2]:
        await api.data(SAVE, {"p": pin.id, "b": board.id, "s": kitchen["id"]}, token=member_token)
    await api.data(SAVE, {"p": pins[2].id, "b": board.id}, token=owner_token)  # no section
    page = (await api.data(SECTIONS, {"id": board.id, "first": 1}, token=member_token))["board"]
    assert page["pinCount"] == 3
    assert summary(page) == [("Kitchen", 2), ("Garden", 0)]
    section = page["sections"][0]["pins"]
    assert section["totalCount"] == 2
    assert section["pageInfo"]["hasNextPage"]
    full = await api.data(SECTIONS, {"id": board.id, "first": 10}, token=owner_token)
    saved_order = ids(full["board"]["sections"][0]["pins"])
    assert set(saved_order) == {pins[0].id, pins[1].id}
    rest = await api.data(
        SECTIONS, {"id": board.id, "first": 1, "after": section["pageInfo"]["endCursor"]},
        token=owner_token,
    )  # fmt: skip
    assert ids(section) + ids(rest["board"]["sections"][0]["pins"]) == saved_order
    # Moving: saved again into another section (idempotent); a save without a section
    # leaves a pin where it is; a pin on the board moves into a section.
    for _ in range(2):
        await api.data(SAVE, {"p": pins[0].id, "b": board.id, "s": garden["id"]}, token=owner_token)
    await api.data(SAVE, {"p": pins[0].id, "b": board.id}, token=member_token)
    await api.data(SAVE, {"p": pins[2].id, "b": board.id, "s": garden["id"]}, token=owner_token)
    page = (await api.data(SECTIONS, {"id": board.id, "first": 10}, token=owner_token))["board"]
    assert summary(page) == [("Kitchen", 1), ("Garden", 2)]
    assert ids(page["sections"][1]["pins"]) == newest_first([pins[0], pins[2]])
    assert page["pinCount"] == 3
    # Unsaving takes a pin out of its section; deleting a section keeps its pins.
    assert await api.data(UNSAVE, {"p": pins[2].id, "b": board.id}, token=owner_token)
    assert await api.data(DELETE, {"id": kitchen["id"]}, token=owner_token) == {
        "deleteBoardSection": True
    }
    page = (await api.data(SECTIONS, {"id": board.id, "first": 10}, token=member_token))["board"]
    assert summary(page) == [("Garden", 1)]
    assert set(ids(page["pins"])) == {pins[0].id, pins[1].id}
    assert page["pinCount"] == 2
    # A collaborator deletes the sections they added.
    assert await api.data(DELETE, {"id": garden["id"]}, token=member_token)
    page = (await api.data(SECTIONS, {"id": board.id}, token=owner_token))["board"]
    assert page["sections"] == []
    assert page["pinCount"] == 2


async def test_errors_and_visibility(api: Api, repos: Repositories) -> None:
    owner, member, outsider = await make_user(repos), await make_user(repos), await make_user(repos)
    board = await make_board(repos, owner, privacy=Privacy.SECRET)
    public = await make_board(repos, owner)
    other = await make_board(repos, owner)
    await share(api, owner, board, member)
    token = api.token(owner)
    section = (await api.data(CREATE, {"b": board.id, "n": "Ideas"}, token=token))[
        "createBoardSection"
    ]
    on_public = (await api.data(CREATE, {"b": public.id, "n": "Open"}, token=token))[
        "createBoardSection"
    ]
    elsewhere = (await api.data(CREATE, {"b": other.id, "n": "Other"}, token=token))[
        "createBoardSection"
    ]
    pin = await make_pin(repos, owner, public)
    stranger = api.token(outsider)
    cases = [
        (CREATE, {"b": board.id, "n": "ideas"}, api.token(member), "CONFLICT"),
        (CREATE, {"b": board.id, "n": "  "}, token, "BAD_USER_INPUT"),
        (CREATE, {"b": board.id, "n": "x" * 51}, token, "BAD_USER_INPUT"),
        (CREATE, {"b": "not an id", "n": "x"}, token, "BAD_USER_INPUT"),
        (CREATE, {"b": board.id, "n": "Mine"}, stranger, "NOT_FOUND"),
        (CREATE, {"b": public.id, "n": "Mine"}, stranger, "FORBIDDEN"),
        (CREATE, {"b": board.id, "n": "Mine"}, None, "UNAUTHENTICATED"),
        (SAVE, {"p": pin.id, "b": board.id, "s": elsewhere["id"]}, token, "NOT_FOUND"),
        (SAVE, {"p": pin.id, "b": board.id, "s": "bad id!"}, token, "BAD_USER_INPUT"),
        (SAVE, {"p": pin.id, "b": board.id, "s": section["id"]}, stranger, "NOT_FOUND"),
        (SAVE, {"p": pin.id, "b": public.id, "s": on_public["id"]}, stranger, "FORBIDDEN"),
        (SAVE, {"p": "01NOSUCHPIN", "b": board.id, "s": section["id"]}, token, "NOT_FOUND"),
        (DELETE, {"id": section["id"]}, stranger, "NOT_FOUND"),
        (DELETE, {"id": on_public["id"]}, stranger, "FORBIDDEN"),
        (DELETE, {"id": section["id"]}, api.token(member), "FORBIDDEN"),
        (DELETE, {"id": "01NOSUCHSECTION"}, token, "NOT_FOUND"),
    ]
    for document, variables, caller, expected in cases:
        error = await api.error(document, variables, token=caller)
        assert code(error) == expected, (document, variables, error)
    # Nothing half-written.
    page = (await api.data(SECTIONS, {"id": board.id}, token=token))["board"]
    assert summary(page) == [("Ideas", 0)]
    assert page["pinCount"] == 0
    # A secret board's sections are seen by its members alone; a removed collaborator loses
    # them on the next request.
    assert (await api.data(SECTIONS, {"id": board.id}, token=stranger))["board"] is None
    assert (await api.data(SECTIONS, {"id": board.id}))["board"] is None
    seen = (await api.data(SECTIONS, {"id": board.id}, token=api.token(member)))["board"]
    assert summary(seen) == [("Ideas", 0)]
    await api.data(REMOVE, {"b": board.id, "u": member.id}, token=token)
    assert (await api.data(SECTIONS, {"id": board.id}, token=api.token(member)))["board"] is None
    error = await api.error(CREATE, {"b": board.id, "n": "Back"}, token=api.token(member))
    assert code(error) == "NOT_FOUND"
    # A public board's sections are seen by everyone.
    anonymous = (await api.data(SECTIONS, {"id": public.id}))["board"]
    assert summary(anonymous) == [("Open", 0)]


async def test_cap(api: Api, repos: Repositories) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    for n in range(MAX_SECTIONS):
        await repos.sections.create(owner.id, board.id, f"Part {n}")
    error = await api.error(CREATE, {"b": board.id, "n": "Too many"}, token=api.token(owner))
    assert code(error) == "BAD_USER_INPUT"
    page = (await api.data(SECTIONS, {"id": board.id}))["board"]
    assert len(page["sections"]) == MAX_SECTIONS


async def test_the_cached_board_page_shows_sections_at_once(
    settings: Settings, api: Api, repos: Repositories
) -> None:
    owner = await make_user(repos)
    board = await make_board(repos, owner)
    secret = await make_board(repos, owner, privacy=Privacy.SECRET)
    pin = await make_pin(repos, owner, board)
    token = api.token(owner)
    for warm in (board, secret):  # fills the board page cache, public and member-scoped
        assert (await api.data(SECTIONS, {"id": warm.id}, token=token))["board"]["sections"] == []
    # The writer is another server process.
    async with running(settings) as other_app, client_of(other_app) as http:
        writer = Api(http, settings)
        made = {}
        for target in (board, secret):
            found = await writer.data(CREATE, {"b": target.id, "n": "New"}, token=token)
            made[target.id] = found["createBoardSection"]["id"]
    for target in (board, secret):
        page = (await api.data(SECTIONS, {"id": target.id}, token=token))["board"]
        assert summary(page) == [("New", 0)]
    anonymous = (await api.data(SECTIONS, {"id": board.id}))["board"]
    assert summary(anonymous) == [("New", 0)]
    # A pin already on the board moved into a section, and the section deleted.
    await api.data(SAVE, {"p": pin.id, "b": board.id, "s": made[board.id]}, token=token)
    assert summary((await api.data(SECTIONS, {"id": board.id}))["board"]) == [("New", 1)]
    await api.data(DELETE, {"id": made[board.id]}, token=token)
    assert (await api.data(SECTIONS, {"id": board.id}))["board"]["sections"] == []
