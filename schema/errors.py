"""The one mapping from failures to `extensions.code`, for answers over HTTP and WebSocket."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLEnumType, GraphQLError, GraphQLSchema

from domain.errors import DomainError, RateLimited

INTERNAL_MESSAGE = "internal error; quote the X-Request-ID header when reporting it"
VALID_VALUES = "Valid values:"


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The error as the client sees it; internals never reach the client."""
    original = error.original_error
    formatted: dict[str, Any] = dict(error.formatted)
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    if isinstance(original, DomainError):
        extensions["code"] = original.code
        formatted["message"] = str(original)
        if isinstance(original, RateLimited):
            extensions["retryAfter"] = original.retry_after
    elif original is None or isinstance(original, GraphQLError) or error.path is None:
        # Syntax, validation, variable coercion and limit errors: the document was wrong.
        extensions["code"] = "BAD_USER_INPUT"
    else:
        extensions["code"] = "INTERNAL"
        formatted["message"] = INTERNAL_MESSAGE
    formatted["extensions"] = extensions
    return formatted


def stamp(error: GraphQLError) -> None:
    """Give the error itself that shape: strawberry's WebSocket handler sends
    `error.formatted` as it is."""
    formatted = format_error(error)
    error.message = formatted["message"]
    error.extensions = formatted["extensions"]


_UNKNOWN_ENUM_VALUE = re.compile(
    r"Value '[^']*' does not exist in '(\w+)' enum\.|Enum '(\w+)' cannot represent non-"
)


def list_enum_values(error: GraphQLError, schema: GraphQLSchema) -> None:
    """Add the valid values to graphql-core's "does not exist in 'ImageSize' enum" and
    "Enum 'ImageSize' cannot represent non-enum value" (a quoted value, or a number):
    production has no "did you mean" hints, so it would name none."""
    match = _UNKNOWN_ENUM_VALUE.search(error.message)
    if match is None or VALID_VALUES in error.message:
        return  # the validation cache hands the same error out again
    enum = schema.type_map.get(match[1] or match[2])
    if isinstance(enum, GraphQLEnumType):
        error.message = f"{error.message} {VALID_VALUES} {', '.join(enum.values)}."
