"""Read-only Cypher for analysts: checks, limits and logging around a backend's `explore`.

Read-only is enforced by the store itself: FalkorDB runs the query with `GRAPH.RO_QUERY`,
Neo4j in a READ-mode transaction after an `EXPLAIN` whose query type must be `r`. The check
here comes first and gives a clear error for what the stores would refuse anyway, and it
refuses what they would allow but an analyst must not do: `LOAD CSV` (it reads files and
URLs from the server), procedures that are not known to be read-only, several statements,
switching databases, and characters that make a query read differently than it runs.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from domain.errors import BadInput, WriteRefused
from graph.backends.base import MAX_PARAM_DEPTH, GraphBackend

log = structlog.get_logger(__name__)

MAX_QUERY_CHARS = 20_000
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
DEFAULT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 60_000
MAX_PARAMS = 100
CLIENT_GRACE_S = 1.0
PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

# Clauses that write, administer, or leave the current database.
REFUSED_WORDS = frozenset({
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "FOREACH", "LOAD",
    "ALTER", "GRANT", "DENY", "REVOKE", "RENAME", "START", "STOP", "TERMINATE", "ENABLE",
    "DEALLOCATE", "REALLOCATE", "USE", "TRANSACTIONS", "EXPLAIN", "PROFILE", "CYPHER",
})  # fmt: skip
WRITE_CLAUSES = frozenset(
    {"CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "FOREACH"}
)
# How the backends word a query stopped by the store's time limit.
STORE_TIMEOUT = "the query ran past its time limit"
# Procedures known to read only (prefixes end with a dot). FalkorDB's algo.* are read-only
# graph algorithms (PageRank, BFS, ...).
READ_PROCEDURES = (
    "db.labels", "db.relationshipTypes", "db.propertyKeys", "db.indexes", "db.constraints",
    "db.schema.", "db.idx.fulltext.queryNodes", "db.idx.fulltext.queryRelationships",
    "db.index.fulltext.queryNodes", "db.index.fulltext.queryRelationships", "algo.",
)  # fmt: skip
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
# Anywhere in a query, strings and comments too: FalkorDB reads the text up to a NUL only, and
# neither store can be sent a lone surrogate.
UNSENDABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]  # nodes, relationships and paths rendered as dicts (backends)
    truncated: bool
    elapsed_ms: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "truncated": self.truncated,
            "elapsedMs": round(self.elapsed_ms, 2),
        }

    def as_csv(self) -> str:
        """One header line; maps, lists, nodes and relationships as JSON text."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_csv_cell(value) for value in row])
        return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return orjson.dumps(value).decode()


async def explore(
    backend: GraphBackend,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    analyst: str,
) -> Table:
    """Run an analyst's query read-only, at most `limit` rows within `timeout_ms`.
    Every call is logged, refused ones as warnings."""
    started = time.perf_counter()
    outcome = "error"
    rows = 0
    try:
        check_read_only(query)
        checked = check_params(params or {})
        check_params_given(query, checked)
        if not 1 <= limit <= MAX_LIMIT:
            raise BadInput(f"limit must be between 1 and {MAX_LIMIT}")
        if not 1 <= timeout_ms <= MAX_TIMEOUT_MS:
            raise BadInput(f"timeoutMs must be between 1 and {MAX_TIMEOUT_MS}")
        # The stores check their limit between steps; a long single step (a huge range())
        # is cut here, a second later.
        columns, found, truncated = await asyncio.wait_for(
            backend.explore(query, checked, limit=limit, timeout_ms=timeout_ms),
            timeout=timeout_ms / 1000 + CLIENT_GRACE_S,
        )
        rows, outcome = len(found), "ok"
    except WriteRefused:
        outcome = "refused"
        raise
    except TimeoutError:
        outcome = "timeout"
        raise BadInput(timeout_message(timeout_ms)) from None
    except BadInput as error:
        # The backends report the stores' own time limit as BadInput with this text.
        if not str(error).startswith(STORE_TIMEOUT):
            raise
        outcome = "timeout"
        raise BadInput(timeout_message(timeout_ms)) from error
    finally:
        elapsed = (time.perf_counter() - started) * 1000
        report = log.warning if outcome == "refused" else log.info
        report("cypher query", analyst=analyst, ms=round(elapsed, 1), rows=rows,
               outcome=outcome, query=query[:500] if isinstance(query, str) else None)  # fmt: skip
    return Table(columns, found, truncated, elapsed)


def timeout_message(timeout_ms: int) -> str:
    if timeout_ms >= MAX_TIMEOUT_MS:
        return (
            f"the query ran past the longest time limit, {MAX_TIMEOUT_MS:,} ms: narrow it "
            "with filters or LIMIT"
        )
    return (
        f"the query ran past its time limit of {timeout_ms} ms: raise it, up to "
        f"{MAX_TIMEOUT_MS:,} ms, with timeoutMs (POST /cypher), timeout_ms= (notebooks) or "
        "--timeout-ms (pingraph cypher), or narrow the query with filters or LIMIT"
    )


def check_params_given(query: str, params: Mapping[str, Any]) -> None:
    """Name the parameters the query uses but was not given: the stores only say that some
    are missing (FalkorDB), or name one in their own words (Neo4j)."""
    missing = [name for name in parameter_names(query) if name not in params]
    if not missing:
        return
    names = ", ".join(f"${name}" for name in missing)
    plural = "s" if len(missing) > 1 else ""
    raise BadInput(
        f"missing parameter{plural} {names}: give {'them' if plural else 'it'} in params "
        f"(POST /cypher), as keyword arguments (notebooks) or with --param {missing[0]}=VALUE "
        "(pingraph cypher)"
    )


def parameter_names(query: str) -> list[str]:
    """The `$name` parameters a query uses, in order of first use."""
    tokens = _tokens(query)
    names = [tokens[at + 1].strip("`") for at in range(len(tokens) - 1) if tokens[at] == "$"]
    return list(dict.fromkeys(names))


def several_statements(query: str) -> bool:
    return ";" in _tokens(query)[:-1]


def check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise BadInput("params must be a JSON object")
    if len(params) > MAX_PARAMS:
        raise BadInput(f"at most {MAX_PARAMS} params")
    for name, value in params.items():
        # FalkorDB sends parameters as a text header: a name must be a plain identifier.
        if not isinstance(name, str) or not PARAM_NAME.fullmatch(name):
            raise BadInput(f"param name {name!r} must be letters, digits and _ (max 64)")
        _check_value(value, name, 0)
    return dict(params)


def _check_value(value: Any, where: str, depth: int) -> None:
    if value is None or isinstance(value, bool | float | str):
        return
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise BadInput(f"param {where}: integers must fit in 64 bits")
        return
    if isinstance(value, list | dict) and depth >= MAX_PARAM_DEPTH:
        # Checked before going deeper: a deeply nested value must not exhaust the stack.
        raise BadInput(f"param {where}: values may nest at most {MAX_PARAM_DEPTH} lists or maps")
    if isinstance(value, list):
        for item in value:
            _check_value(item, where, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key or "`" in key:
                raise BadInput(f"param {where}: map keys must be non-empty, without backticks")
            _check_value(item, where, depth + 1)
        return
    raise BadInput(f"param {where}: only JSON values")


def check_read_only(query: str) -> None:
    """Raise WriteRefused or BadInput unless `query` is one statement that can only read."""
    if not isinstance(query, str) or not query.strip():
        raise BadInput("query must be a non-empty string")
    if len(query) > MAX_QUERY_CHARS:
        raise BadInput(f"query is longer than {MAX_QUERY_CHARS} characters")
    if found := UNSENDABLE.search(query):
        raise BadInput(
            "the query must not hold NUL characters or lone surrogates: "
            f"U+{ord(found.group()):04X} at {found.start()}"
        )
    tokens = _tokens(query)
    for position, piece in enumerate(tokens):
        if piece == ";":
            if position != len(tokens) - 1:
                raise BadInput("send one statement per request (no ';' between statements)")
            continue
        word = unicodedata.normalize("NFKC", piece).upper()
        before = tokens[position - 1] if position else ""
        after = tokens[position + 1] if position + 1 < len(tokens) else ""
        if before in (".", ":", "$") or (after == ":" and before in ("{", ",")):
            continue  # a property, label, parameter or map key of that name
        if word in REFUSED_WORDS:
            if word != piece.upper():
                raise WriteRefused(f"read-only: {piece!r} looks like {word} (unicode look-alike)")
            if _used_as_name(before, after):
                raise WriteRefused(_name_refusal(piece, word, before))
            raise WriteRefused(f"read-only: {word} is not allowed here")
        if word == "CALL" and after not in ("{", "("):
            procedure = _dotted_name(tokens, position + 1)
            if not procedure.startswith(READ_PROCEDURES) or procedure.endswith("."):
                raise WriteRefused(
                    f"read-only: procedure {procedure or '?'!r} is not allowed; read-only "
                    f"procedures are {', '.join(READ_PROCEDURES)}"
                )


def _used_as_name(before: str, after: str) -> bool:
    """An alias (`AS set`), a variable in a pattern (`(set)`, `[set:SAVED_TO]`), or a
    variable read (`set.name`, `set AS s`): still refused, but the message says why."""
    if before.upper() == "AS" or after == "." or after.upper() == "AS":
        return True
    return before in ("(", "[") and after in (")", "]", ":", "{")


def _name_refusal(piece: str, word: str, before: str) -> str:
    where = f" (AS {piece})" if before.upper() == "AS" else ""
    kind = "a write clause" if word in WRITE_CLAUSES else "a keyword refused here"
    return f"read-only: `{piece}` is used as a name here{where}; rename it: {word} is {kind}"


def _dotted_name(tokens: list[str], start: int) -> str:
    parts = []
    index = start
    while index < len(tokens):
        parts.append(tokens[index])
        if index + 1 < len(tokens) and tokens[index + 1] == ".":
            parts.append(".")
            index += 2
        else:
            break
    return "".join(parts).strip("`")


def _tokens(query: str) -> list[str]:
    """Words and punctuation outside strings and comments; quoted names as `name`."""
    tokens: list[str] = []
    index, size = 0, len(query)
    while index < size:
        char = query[index]
        if char in " \t\r\n":
            index += 1
        elif query.startswith("//", index):
            end = query.find("\n", index)
            index = size if end < 0 else end + 1
        elif query.startswith("/*", index):
            end = query.find("*/", index + 2)
            if end < 0:
                raise BadInput("a /* comment is not closed")
            index = end + 2
        elif char in "'\"":
            index = _skip_string(query, index)
            tokens.append("'…'")
        elif char == "`":
            end = query.find("`", index + 1)
            if end < 0:
                raise BadInput("a `quoted name` is not closed")
            tokens.append(query[index : end + 1])
            index = end + 1
        elif char.isalnum() or char == "_":
            end = index
            while end < size and (query[end].isalnum() or query[end] == "_"):
                end += 1
            tokens.append(query[index:end])
            index = end
        else:
            if char.isspace() or unicodedata.category(char) in HIDDEN_CATEGORIES:
                raise BadInput(
                    f"the query holds an invisible or unusual character U+{ord(char):04X} "
                    f"outside a string (at {index})"
                )
            tokens.append(char)
            index += 1
    return tokens


def _skip_string(query: str, start: int) -> int:
    quote = query[start]
    index = start + 1
    while index < len(query):
        if query[index] == "\\":
            index += 2
        elif query[index] == quote:
            return index + 1
        else:
            index += 1
    raise BadInput("a string literal is not closed")
