"""A query's cost, computed before it runs: how many objects it may return at most.

Like GitHub's node limit: every field with a `first` argument returns up to `first` objects
for each object its parent returned, and those objects are what is counted. Nested lists
multiply (`searchPins(first: 100)` -> `related(first: 100)` -> `boards(first: 100)` is a
million boards), and aliased copies add up. Variables are read with their values, arguments
left out with their schema defaults. An operation over the limit is refused before any
resolver runs, with the computed cost in the error's extensions.

The same walk checks every `first` against its range. A resolver would refuse it too, but as
a field error, which nulls the field's nearest nullable parent (`boards(first: 500)` would
take the whole `user` with it); refused here, the request answers one clear error per bad
`first`, naming where it is, and runs nothing: a request error, like a cost over the limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.utilities import value_from_ast_untyped
from strawberry.extensions import SchemaExtension

from domain.recent import Recent
from graph.model import MAX_PAGE, MAX_TOPICS
from graph.repos.collaborators import MAX_INVITES_LISTED
from graph.repos.notifications import MAX_ACTORS
from graph.repos.sections import MAX_SECTIONS

MAX_COST = 10_000  # objects one operation may return, at most
KNOWN_COSTS = 1024
# Lists without `first` that may hold more than `MAX_TOPICS`, by (type, field): each counts
# as its maximum. Every other such list (topics, reaction counts, muted kinds) holds at most
# `MAX_TOPICS`.
LIST_MAXIMUMS = {
    ("User", "boardInvites"): MAX_INVITES_LISTED,
    ("Board", "sections"): MAX_SECTIONS,
}


# The range of `first`, by (type, field), where it is not 0 to MAX_PAGE.
FIRST_RANGES = {
    ("Query", "trendingPins"): (1, MAX_PAGE),
    ("Query", "trendingBoards"): (1, MAX_PAGE),
    ("Notification", "actors"): (1, MAX_ACTORS),
}


class CostLimiter(SchemaExtension):
    """Refuses operations with a `first` out of its range, or whose cost is above
    `MAX_COST`."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context.result:
            schema, query = context.schema._schema, context.query or ""
            cost, bad_pages = known_cost(schema, query, document, context.operation_name,
                                         context.variables or {})  # fmt: skip
            if bad_pages:
                context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(message, nodes=field, extensions={"code": "BAD_USER_INPUT"})
                        for field, message in bad_pages
                    ],
                )
            elif cost > MAX_COST:
                context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"this operation may return {cost:,} objects, more than the "
                            f"{MAX_COST:,} allowed: ask for fewer (smaller `first` values, "
                            "less nesting, fewer aliases) and page with `after`",
                            extensions={"cost": cost, "maxCost": MAX_COST},
                        )
                    ],
                )
        yield


type BadPage = tuple[FieldNode, str]
_known: Recent[tuple[object, ...], tuple[int, list[BadPage]]] = Recent(KNOWN_COSTS)


def known_cost(
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
) -> tuple[int, list[BadPage]]:
    """`operation_cost`, remembered: a cost depends on the document, on which variables are
    given and of what type, and on the numbers among them (ids and strings never feed a
    `first` but decide whether its default applies), so a page asked for again with another
    id costs a look-up."""
    given = tuple(
        sorted((k, type(v).__name__, v if isinstance(v, int | float) else None)
               for k, v in variables.items())
    )  # fmt: skip
    key = (hashlib.sha256(query.encode()).digest(), operation_name, given)
    known = _known.get(key)
    if known is None:
        bad_pages: list[BadPage] = []
        cost = operation_cost(schema, document.definitions, operation_name, variables, bad_pages)
        known = (cost, bad_pages)
        _known.put(key, known)
    return known


def operation_cost(
    schema: GraphQLSchema,
    definitions: Any,
    operation_name: str | None,
    variables: Mapping[str, Any],
    bad_pages: list[BadPage] | None = None,
) -> int:
    """The cost; every `first` out of its range is added to `bad_pages`."""
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op for op in operations
        if operation_name is None or (op.name is not None and op.name.value == operation_name)
    ]  # fmt: skip
    if not chosen:
        return 0
    operation = chosen[0]
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return 0
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    values = {**defaults, **variables}
    found = bad_pages if bad_pages is not None else []
    return _cost(operation.selection_set, root, 1, fragments, values, set(), [], found)


def _cost(
    selections: SelectionSetNode,
    parent: GraphQLObjectType,
    multiplier: int,
    fragments: dict[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    visiting: set[str],
    path: list[str | int],
    bad_pages: list[BadPage],
) -> int:
    total = 0
    for field, owner in _fields(selections, parent, fragments, visiting):
        definition = owner.fields.get(field.name.value)
        if definition is None:  # __typename and introspection: free
            continue
        here = [*path, field.alias.value if field.alias else field.name.value]
        count = multiplier
        if "first" in definition.args:
            first = _first(field, definition.args["first"].default_value, variables)
            low, high = FIRST_RANGES.get((owner.name, field.name.value), (0, MAX_PAGE))
            if not low <= first <= high:
                message = f"first must be between {low} and {high} in {'.'.join(map(str, here))}"
                if not any(message == known for _, known in bad_pages):  # fragments repeat
                    bad_pages.append((field, message))
            count *= min(max(first, 0), MAX_PAGE)
            total += count
        elif is_list_type(get_nullable_type(definition.type)) and not _is_connection(owner):
            count *= LIST_MAXIMUMS.get((owner.name, field.name.value), MAX_TOPICS)
            total += count
        child = get_named_type(definition.type)
        if field.selection_set is not None and isinstance(child, GraphQLObjectType):
            total += _cost(field.selection_set, child, count, fragments, variables, visiting,
                           here, bad_pages)  # fmt: skip
    return total


def _fields(
    selections: SelectionSetNode,
    parent: GraphQLObjectType,
    fragments: dict[str, FragmentDefinitionNode],
    visiting: set[str],
) -> Iterator[tuple[FieldNode, GraphQLObjectType]]:
    """The fields of a selection set with fragments expanded (every type condition counts:
    an upper bound)."""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, parent, fragments, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:  # validation reports both
                continue
            visiting.add(name)
            yield from _fields(fragment.selection_set, parent, fragments, visiting)
            visiting.discard(name)


def _is_connection(parent: GraphQLObjectType) -> bool:
    """A connection's `edges` hold the `first` objects its field already counted."""
    return parent.name.endswith("Connection")


def _first(field: FieldNode, default: Any, variables: Mapping[str, Any]) -> int:
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value, default)
        elif isinstance(value, IntValueNode):
            given = int(value.value)
        else:
            given = default
        if isinstance(given, float) and given.is_integer():
            given = int(given)  # GraphQL coerces 100.0 to the Int 100
        return given if isinstance(given, int) and not isinstance(given, bool) else _int(default)
    return _int(default)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 1
