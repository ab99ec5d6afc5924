"""graphql-core's executor with two short paths.

Plain leaf fields. Most fields of a page are plain attributes of an object already loaded (a
pin's `id`, `title`, an image's `width`): no resolver, no arguments, a scalar or enum value.
For each of them the general path builds two info objects, calls three wrappers and checks
for an awaitable twice; here the value is read and serialised directly, which is what that
path ends up doing. Anything unusual (a null in a non-null field, a value the scalar
refuses) goes the general way, so errors are reported exactly as before.

Kept record selections. Pins and users are never edited once created, so a selection made
only of fields that read the record itself (`RECORD_FIELDS`: a pin's title, image and
creator, not its save count or boards) completes to the same value for every viewer and
every request. Such a completed selection is kept per process, by the selection (the AST
node of one document, which the parser cache hands out again for the same text) and the
record's id, and a page of 25 pins completes 25 look-ups instead of about 250 fields.
Selections with variables, directives or fragments inside are never kept, nor any that
ended in an error or had to wait for data.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, ClassVar

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    VariableNode,
    get_named_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from domain.recent import Recent

# Fields whose answer is a function of the object's own (never edited) record.
RECORD_FIELDS: dict[str, frozenset[str]] = {
    "Pin": frozenset({"id", "title", "description", "link", "createdAt", "image", "creator"}),
    "Image": frozenset({"key", "width", "height", "dominantColor"}),
    "User": frozenset({"id", "handle", "displayName", "createdAt"}),
}
IMAGE_URL = frozenset({"url"})  # the same every time unless the store presigns it
KEPT_TYPES = frozenset({"Pin", "User"})  # objects with a `model` whose `id` names the record
KEPT_SELECTIONS = 50_000
KNOWN_PLANS = 4096


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    attribute: str
    serialize: Any
    nullable: bool


def plain_leaves(schema: GraphQLSchema) -> dict[tuple[str, str], PlainLeaf]:
    """(type, field) -> how to read it, for every field that is a plain attribute holding
    a scalar or enum: strawberry resolves those with its default resolver, which is getattr."""
    found: dict[tuple[str, str], PlainLeaf] = {}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            nullable = not isinstance(field.type, GraphQLNonNull)
            leaf = field.type if nullable else field.type.of_type
            if (
                not isinstance(definition, StrawberryField)
                or not definition.is_basic_field
                or field.args
                or not isinstance(leaf, GraphQLScalarType | GraphQLEnumType)
            ):
                continue
            found[type_.name, name] = PlainLeaf(definition.python_name, leaf.serialize, nullable)
    return found


def fast_execution(schema: GraphQLSchema) -> type[FastExecutionContext]:
    """The execution context class for `schema`, its plain leaves found once."""
    return type(
        "PingraphExecution",
        (FastExecutionContext,),
        {
            "leaves": plain_leaves(schema),
            "kept": Recent(KEPT_SELECTIONS),
            "plans": Recent(KNOWN_PLANS),
        },
    )


def keepable(node: FieldNode, type_: GraphQLObjectType, stable_urls: bool) -> bool:
    """Whether the selection of `node` on `type_` reads only the records themselves."""
    if node.selection_set is None:
        return True
    allowed = RECORD_FIELDS.get(type_.name, frozenset())
    if type_.name == "Image" and stable_urls:
        allowed |= IMAGE_URL
    for selection in node.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            return False
        name = selection.name.value
        if name == "__typename":
            continue
        if name not in allowed or any(
            isinstance(argument.value, VariableNode) for argument in selection.arguments or ()
        ):
            return False
        child = get_named_type(type_.fields[name].type)
        if isinstance(child, GraphQLObjectType) and not keepable(selection, child, stable_urls):
            return False
    return True


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Set as the schema's `execution_context_class` by `fast_execution`."""

    leaves: ClassVar[dict[tuple[str, str], PlainLeaf]] = {}
    # (id of the selection's node, record id) -> (a weak reference to the node, its completed
    # value): while the node lives its id names no other node, and a dead reference never
    # matches. Weak, so that an entry does not keep a whole document (up to a megabyte of
    # query text) alive after the parser cache let it go.
    kept: ClassVar[Recent[tuple[int, str], tuple[weakref.ref[FieldNode], Any]]] = Recent(0)
    # (id of a node, type, stable URLs) -> (a weak reference to the node, whether its
    # selection can be kept)
    plans: ClassVar[Recent[tuple[int, str, bool], tuple[weakref.ref[FieldNode], bool]]] = Recent(0)

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        if (
            return_type.name not in KEPT_TYPES
            or len(field_details_list) != 1
            or not self._keepable(node, return_type)
        ):
            return super().complete_object_value(
                return_type, field_details_list, info, path, result, position_context
            )
        key = (id(node), result.model.id)
        found = self.kept.get(key)
        if found is not None and found[0]() is node:
            return found[1]
        errors = len(self.collected_errors.errors)
        completed = super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )
        if (
            not self.is_awaitable(completed)
            and len(self.collected_errors.errors) == errors
            and not self.collected_errors.has_nulled_position(path)
        ):
            self.kept.put(key, (weakref.ref(node), completed))
        return completed

    def _keepable(self, node: FieldNode, type_: GraphQLObjectType) -> bool:
        images = getattr(self.context_value, "images", None)
        stable = bool(images is not None and images.stable_urls)
        key = (id(node), type_.name, stable)
        plan = self.plans.get(key)
        if plan is None or plan[0]() is not node:
            plan = self.plans.put(key, (weakref.ref(node), keepable(node, type_, stable)))
        return plan[1]

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        leaf = self.leaves.get((parent_type.name, node.name.value))
        if leaf is not None and not node.arguments:
            value = getattr(source, leaf.attribute, None)
            if value is None and leaf.nullable:
                return None
            if value is not None:
                try:
                    serialized = leaf.serialize(value)
                except Exception:  # the general path reports it
                    serialized = Undefined
                if serialized is not Undefined and serialized is not None:
                    return serialized
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
