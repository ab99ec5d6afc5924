"""Statement parameters the drivers cannot send are the caller's mistake (BadInput), refused
before they reach a driver: text with NUL or a lone surrogate, values nested too deep."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import BadInput
from graph.analyst import sandbox
from graph.backends.base import MAX_PARAM_DEPTH, GraphBackend, check_params
from graph.repos import Repositories


def nested(depth: int, leaf: Any = 1, *, maps: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"k": value} if maps else [value]
    return value


UNSENDABLE: list[Any] = [
    "a\x00b",
    "\x00",
    "\ud800",
    "x\udfff",
    "é\udcff",  # non-ASCII text around a surrogate
    ["ok", "a\x00b"],
    ("ok", "\ud800"),
    {"k": "a\x00b"},
    {"k\x00": 1},  # map keys are sent too
    {"\ud800": 1},
    [{"k": ["ok", {"deep": "\ud800"}]}],
]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "plain",
        "é ß 中文 😀 \u200b",  # non-ASCII, an astral character, a zero-width space
        "\ud83d\ude00".encode("utf-16", "surrogatepass").decode("utf-16"),  # a pair: one char
        ["a", "b", 1, 2.5, True, None],
        ("a", "b"),
        {"k": ["v", {"x": "é"}]},
        nested(MAX_PARAM_DEPTH),
        nested(MAX_PARAM_DEPTH, maps=True),
    ],
)
def test_check_params_accepts_what_the_stores_take(value: Any) -> None:
    check_params({"p": value, "q": "x"})


def test_check_params_accepts_no_params() -> None:
    check_params(None)
    check_params({})


@pytest.mark.parametrize("value", UNSENDABLE, ids=ascii)
def test_check_params_refuses_nul_and_lone_surrogates(value: Any) -> None:
    with pytest.raises(BadInput, match=r"\$p: text must not hold NUL"):
        check_params({"ok": "fine", "p": value})


@pytest.mark.parametrize(
    "value",
    [
        nested(MAX_PARAM_DEPTH + 1),
        nested(MAX_PARAM_DEPTH + 1, maps=True),
        [{"k": nested(MAX_PARAM_DEPTH - 1)}],
        nested(5000),  # far past Python's recursion limit: refused, not a RecursionError
    ],
    ids=["lists", "maps", "mixed", "5000"],
)
def test_check_params_refuses_nesting_past_the_bound(value: Any) -> None:
    with pytest.raises(BadInput, match=f"at most {MAX_PARAM_DEPTH} lists or maps"):
        check_params({"p": value})


@pytest.mark.parametrize("value", [*UNSENDABLE, nested(MAX_PARAM_DEPTH + 1)], ids=ascii)
async def test_backends_refuse_unsendable_params_as_bad_input(
    backend: GraphBackend, value: Any
) -> None:
    """Every way a statement reaches a store: read, write and the analyst's explore."""
    with pytest.raises(BadInput):
        await backend.read("RETURN $p AS p", {"p": value})
    with pytest.raises(BadInput):
        await backend.write("MERGE (n:ParamProbe {v: 1}) RETURN $p AS p", {"p": value})
    with pytest.raises(BadInput):
        await backend.explore("RETURN $p AS p", {"p": value}, limit=10, timeout_ms=5000)
    assert await backend.read("MATCH (n:ParamProbe) RETURN count(n) AS n") == [{"n": 0}]


async def test_backends_still_send_text_and_nesting_within_the_bounds(
    backend: GraphBackend,
) -> None:
    value = {"text": "é ß 中文 😀 'quoted' \"double\" \\ back", "deep": nested(MAX_PARAM_DEPTH - 1)}
    assert await backend.read("RETURN $p AS p", {"p": value}) == [{"p": value}]


async def test_repositories_refuse_unsendable_ids(repos: Repositories) -> None:
    for bad in ("a\x00b", "\ud800"):
        with pytest.raises(BadInput):
            await repos.users.get(bad)
        with pytest.raises(BadInput):
            await repos.pins.get_many([bad], None)
        with pytest.raises(BadInput):
            await repos.boards.create("01NOTAUSER0000000000000000", "x" + bad)


async def test_analyst_params_nested_past_the_bound_are_bad_input(backend: GraphBackend) -> None:
    with pytest.raises(BadInput, match="at most"):
        await sandbox.explore(backend, "RETURN $p AS p", {"p": nested(500)}, analyst="t")
    table = await sandbox.explore(
        backend, "RETURN $p AS p", {"p": nested(MAX_PARAM_DEPTH)}, analyst="t"
    )
    assert table.rows == [[nested(MAX_PARAM_DEPTH)]]


@pytest.mark.parametrize(
    "query",
    [
        "RETURN '\udcff' AS x",  # a non-UTF-8 byte of a CLI argument, surrogate-escaped
        "RETURN 'a\x00b' AS x",
        "RETURN 1 AS x // \x00 the store would stop reading here",
    ],
    ids=["surrogate in a string", "NUL in a string", "NUL in a comment"],
)
async def test_analyst_query_text_with_nul_or_surrogates_is_bad_input(
    backend: GraphBackend, query: str
) -> None:
    with pytest.raises(BadInput, match="NUL characters or lone surrogates"):
        await sandbox.explore(backend, query, analyst="t")
