"""Pydantic's validation errors as a client should read them: `pins.<id>: must be a number`,
`unknown field 'topk' (did you mean 'topK'?)`, never the union branch tags (`dict[str,float]`)
pydantic puts in its locations."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel

PLAIN = {
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
}

SHOULD = re.compile(r"^(Input|String|List|Dictionary|Value|Tuple|Set|Object) should")

type Place = tuple[str | int, ...]


@dataclass(frozen=True)
class _Problem:
    place: Place  # where in the body, without pydantic's union branch tags
    union: Place | None  # where the union is, when this is one branch's problem
    tag: str  # which branch
    kind: str
    message: str

    @property
    def wrong_type(self) -> bool:
        return self.union == self.place and self.kind in PLAIN


def problems(model: type[BaseModel], body: dict[str, Any], errors: list[Any]) -> list[str]:
    found = [_problem(model, body, error) for error in errors]
    # A union branch that refused the value only for its type says nothing when another
    # branch took the value: {"pins": {"x": "a"}} is not "pins: must be a list".
    taken = {(p.union, p.tag) for p in found if p.union is not None and not p.wrong_type}
    kept = [
        p
        for p in found
        if not (p.wrong_type and any(u == p.union and t != p.tag for u, t in taken))
    ]
    said: dict[Place, list[str]] = {}
    for problem in kept:
        said.setdefault(problem.place, []).append(problem.message)
    return [_line(place, _either(messages)) for place, messages in said.items()]


def _either(messages: list[str]) -> str:
    """What every branch of a union wanted, in one: "must be an object or a list"."""
    distinct = list(dict.fromkeys(messages))
    if all(message.startswith("must be ") for message in distinct):
        return "must be " + " or ".join(m.removeprefix("must be ") for m in distinct)
    return "; ".join(distinct)


def _problem(model: type[BaseModel], body: dict[str, Any], error: Any) -> _Problem:
    kind = error["type"]
    place, union, tag = _untagged(tuple(error["loc"]), body, kind)
    if kind == "extra_forbidden" and place:
        name, parent = str(place[-1]), place[:-1]
        hint = _did_you_mean(name, _field_names(model, parent))
        return _Problem(parent, union, tag, kind, f"unknown field {name!r}{hint}")
    if kind == "missing" and place:
        return _Problem(place[:-1], union, tag, kind, f"missing field {str(place[-1])!r}")
    if kind == "value_error":
        message = str(error.get("ctx", {}).get("error", error["msg"]))
    else:
        message = PLAIN.get(kind) or SHOULD.sub("must", error["msg"], count=1)
    return _Problem(place, union, tag, kind, message)


def _untagged(loc: Place, body: Any, kind: str) -> tuple[Place, Place | None, str]:
    """`loc` without the tags pydantic adds for union branches (`dict[str,float]`,
    `list[str]`): those are the parts the body has no place for. Also the place of the
    innermost union and the branch's tag."""
    place: list[str | int] = []
    union, tag = None, ""
    value = body
    for n, part in enumerate(loc):
        if _holds(value, part):
            value = value[part]
        elif not (n == len(loc) - 1 and kind == "missing"):  # else: a field the body lacks
            union, tag = tuple(place), str(part)
            continue
        place.append(part)
    return tuple(place), union, tag


def _holds(value: Any, part: str | int) -> bool:
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def _field_names(model: type[BaseModel], place: Place) -> list[str]:
    """The field names (aliases where set) of the object at `place` of `model`'s input."""
    current: Any = model
    for part in place:
        inner = _model_in(current)
        fields = inner.model_fields if inner else {}
        match = next((f for name, f in fields.items() if part in (name, f.alias)), None)
        if match is not None:
            current = match.annotation
        # else a list index or a dict key: the items have the container's type
    inner = _model_in(current)
    return [f.alias or name for name, f in inner.model_fields.items()] if inner else []


def _did_you_mean(name: str, names: list[str]) -> str:
    by_lower = {known.lower(): known for known in names}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f" (did you mean {by_lower[close[0]]!r}?)" if close else ""


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class in an annotation such as `Bias | None` or `list[Item]`."""
    if get_origin(annotation) is None and isinstance(annotation, type):
        return annotation if issubclass(annotation, BaseModel) else None
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _line(place: Place, message: str) -> str:
    return f"{'.'.join(str(part) for part in place)}: {message}" if place else message
