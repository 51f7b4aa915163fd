"""Tool arguments an agent can correct from one reply: preparation, and one format for every refusal.

The SDK validates a tool's arguments before the tool runs and reports pydantic's own text
(``phases.2.percent``, "Extra inputs are not permitted", a docs URL). ``CheckedTool`` runs first:

1. ``prepare`` reads unambiguous forms models often send as what they mean: an explicit null for an
   optional field is the field left out; ``"20%"`` for a percentage is 20; a midnight-UTC timestamp
   (``2026-03-16T00:00:00Z``) for a date is that day. Ambiguous forms (a date with a time of day or
   another zone, a number for a date) are refused with the expected format.
2. The tool's own argument model validates (the same model the SDK uses, so nothing is looser), and
   every problem is reported by ``refusal``: the field path in one notation (``phases[2].percent``),
   what was wrong, what is valid (allowed values, the format with an example, the valid field names
   and the closest one for an unknown field), then what to do next.

``refusal`` is the one format of every refusal the server sends: argument errors, the spec's own
cross-field checks and the use cases' ``PlannerError`` alike.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from pydantic import Field, ValidationError

from ..tools.errors import PlannerError
from .engram import deepjson

MAX_PROBLEMS = 10
# The tools' parameters nest a handful of levels; far past that is a mistake or an attack, and
# refusing it first keeps every recursive walk of the arguments (ours, pydantic's) safe.
MAX_INPUT_DEPTH = 64
ISO_DATE = "an ISO date YYYY-MM-DD, e.g. 2026-03-16"
_JSON_TYPE = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
_PERCENT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*%\s*$")
_MIDNIGHT_UTC = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?$", re.IGNORECASE)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_EXAMPLE = re.compile(r"\be\.g\.\s*(.+?)(?:;|$)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a call: where (a field path, or "" for the call), what, and what is valid."""

    path: str
    wrong: str
    valid: str | None = None

    def line(self) -> str:
        text = f"{self.path}: {self.wrong}" if self.path else self.wrong
        return f"{text}; valid: {self.valid}" if self.valid else text


def refusal(problems: Sequence[Problem], next_step: str) -> str:
    """The one refusal format: one line per problem (``path: what; valid: ...``), then ``next: ...``."""
    shown = list(dict.fromkeys(problems))[:MAX_PROBLEMS]
    lines = [p.line() for p in shown]
    if len(problems) > len(shown):
        lines.append(f"... and {len(problems) - len(shown)} more")
    return "\n".join([*lines, f"next: {next_step}"])


def planner_refusal(exc: PlannerError) -> str:
    """A use case's refusal in the same format (its message may already name the field)."""
    field = exc.field if exc.field and not exc.message.startswith(f"{exc.field}:") else ""
    return refusal(
        [Problem(field or "", exc.message, exc.valid)], exc.next_step or "correct the call and retry"
    )


def path_text(parts: Iterable[str | int]) -> str:
    """``("phases", 2, "percent")`` -> ``phases[2].percent``: the notation of every message."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --------------------------------------------------------------------------------------------------
# What a schema accepts, in words.


def _members(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    members = node.get("anyOf")
    return [m for m in members if isinstance(m, Mapping)] if isinstance(members, list) else [node]


def _bounds(node: Mapping[str, Any]) -> str:
    parts = []
    for key, sign in (
        ("exclusiveMinimum", ">"),
        ("minimum", ">="),
        ("exclusiveMaximum", "<"),
        ("maximum", "<="),
    ):
        if key in node:
            parts.append(f"{sign} {node[key]:g}" if isinstance(node[key], float) else f"{sign} {node[key]}")
    return " and ".join(parts)


def _one(node: Mapping[str, Any]) -> str:
    if "enum" in node:
        return "one of " + ", ".join(str(v) for v in node["enum"])
    kind = node.get("type")
    if kind == "string":
        if node.get("format") == "date":
            return ISO_DATE
        low, high = node.get("minLength"), node.get("maxLength")
        text = "non-empty text" if low == 1 else f"text of at least {low} characters" if low else "text"
        if high is not None:
            text += f" of at most {high} characters"
        if "pattern" in node:
            text += f" matching {node['pattern']}"
        return text
    if kind in ("number", "integer"):
        noun = "an integer" if kind == "integer" else "a number"
        bounds = _bounds(node)
        return f"{noun} {bounds}" if bounds else noun
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        items = node.get("items")
        low, high = node.get("minItems"), node.get("maxItems")
        size = [f"at least {low}" if low else "", f"at most {high}" if high is not None else ""]
        text = "a list" + (f" of {' and '.join(s for s in size if s)} items" if any(size) else "")
        if isinstance(items, Mapping) and "properties" not in items:
            text += f", each {_one(items)}"
        elif isinstance(items, Mapping):
            text += ", each an object"
        return text
    if kind == "object" or "properties" in node:
        props = list(node.get("properties", {}))
        required = [p for p in node.get("required", []) if p in props]
        text = "an object with " + ", ".join(props) if props else "an object"
        return text + (f" (required: {', '.join(required)})" if required and props else "")
    if kind == "null":
        return "null"
    return "a value"


def valid_text(node: Mapping[str, Any] | None) -> str | None:
    """What ``node`` accepts, with the example from its description when it has one."""
    if not node:
        return None
    kinds = [_one(m) for m in _members(node) if m.get("type") != "null"]
    text = " or ".join(dict.fromkeys(kinds)) or "a value"
    example = _EXAMPLE.search(node.get("description") or "")
    if example and "e.g." not in text:
        text += f", e.g. {example.group(1).strip()}"
    return text


def _props(node: Mapping[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for member in _members(node):
        if isinstance(member.get("properties"), Mapping):
            props.update(member["properties"])
    return props


def _items(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for member in _members(node):
        if isinstance(member.get("items"), Mapping):
            return member["items"]  # type: ignore[no-any-return]
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(type(value), "other")


def _tag_kind(tag: str) -> str:
    """The JSON type of a pydantic union tag (``str``, ``MetricCondition``, ``function-after[...]``)."""
    for word, kind in (("list", "array"), ("dict", "object"), ("bool", "boolean"), ("str", "string")):
        if tag.startswith(word) or f"{word}]" in tag or f"-{word}" in tag:
            return kind
    if tag in ("int", "float"):
        return "number"
    return "object"


def describe_value(value: Any) -> str:
    """A sent value, short: ``'five'``, ``150``, ``an object (name, batch)``, ``a list of 3 items``."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"{value[:37]!r}... ({len(value)} characters)"
    if isinstance(value, dict):
        keys = ", ".join(list(map(str, value))[:5]) + (", ..." if len(value) > 5 else "")
        return f"an object ({keys})" if value else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)} items" if value else "an empty list"
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else repr(value)


# --------------------------------------------------------------------------------------------------
# Preparation: unambiguous forms read as meant, ambiguous ones refused.


def prepare(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """``arguments`` with the accepted alternative forms rewritten, and the ambiguous ones found."""
    problems: list[Problem] = []
    prepared = _prepare(dict(arguments), schema, (), problems)
    return prepared, problems


def _prepare(
    value: Any, node: Mapping[str, Any], path: tuple[str | int, ...], problems: list[Problem]
) -> Any:
    if isinstance(value, dict):
        props = _props(node)
        if not props:
            return value
        required = set().union(*(set(m.get("required", [])) for m in _members(node)))
        out = {}
        for key, item in value.items():
            sub = props.get(key)
            if sub is None:
                out[key] = item
                continue
            if (
                item is None
                and key not in required
                and not any(m.get("type") == "null" for m in _members(sub))
            ):
                continue  # an optional field sent as null: the same as leaving it out
            out[key] = _prepare(_percent(item, key, sub, value, props), sub, (*path, key), problems)
        return out
    if isinstance(value, list):
        items = _items(node)
        return [_prepare(v, items, (*path, i), problems) for i, v in enumerate(value)] if items else value
    if any(m.get("format") == "date" for m in _members(node)):
        return _date(value, path, problems)
    return value


def _is_percentage(key: str, sibling: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
    if "percent" in key or key.endswith("_pct"):
        return True
    unit = sibling.get("unit", (props.get("unit") or {}).get("default"))
    return "unit" in props and unit == "percent"


def _percent(
    value: Any, key: str, node: Mapping[str, Any], sibling: Mapping[str, Any], props: Mapping[str, Any]
) -> Any:
    """``"20%"`` for a number field that is a percentage (named so, or beside ``unit: percent``)."""
    if not isinstance(value, str) or not any(m.get("type") in ("number", "integer") for m in _members(node)):
        return value
    found = _PERCENT.match(value)
    if found is None or not _is_percentage(key, sibling, props):
        return value
    number = float(found.group(1))
    return (
        int(number)
        if number.is_integer() and any(m.get("type") == "integer" for m in _members(node))
        else number
    )


def _date(value: Any, path: tuple[str | int, ...], problems: list[Problem]) -> Any:
    if isinstance(value, bool | int | float):
        problems.append(Problem(path_text(path), f"got the number {value}, not a date", ISO_DATE))
        return value
    if not isinstance(value, str):
        return value
    text = value.strip()
    midnight = _MIDNIGHT_UTC.match(text)
    if midnight:
        return midnight.group(1)
    if _TIMESTAMP.match(text):
        problems.append(
            Problem(
                path_text(path),
                f"got the timestamp {text!r}; a date takes the day only, and this one names a time of day "
                "or a zone other than UTC, so the day is ambiguous",
                ISO_DATE,
            )
        )
    return value


# --------------------------------------------------------------------------------------------------
# Validation errors, in the one format.


def _resolve(
    loc: Sequence[str | int], schema: Mapping[str, Any], value: Any
) -> tuple[list[str | int], Any, Any, bool]:
    """Walk ``loc`` through the schema and the sent value: (path, schema node, value there, whether the
    error is about a union member of another JSON type than the value, i.e. not the one meant)."""
    path: list[str | int] = []
    node: Any = schema
    other_branch = False
    for part in loc:
        if isinstance(part, int):
            node = _items(node) or {}
            value = value[part] if isinstance(value, list) and part < len(value) else None
            path.append(part)
            continue
        props = _props(node)
        if part in props:
            node = props[part]
            value = value.get(part) if isinstance(value, dict) else None
            path.append(part)
            continue
        if len([m for m in _members(node) if m.get("type") != "null"]) > 1:
            # A union tag (``str``, ``MetricCondition``): the member pydantic tried.
            kind = _tag_kind(part)
            actual = _json_kind(value)
            if kind != actual and not (kind == "number" and actual in ("integer", "number")):
                other_branch = True
            for member in _members(node):
                if member.get("type") == kind or (kind == "object" and "properties" in member):
                    node = member
                    break
            continue
        path.append(part)  # a field the schema does not know (an unknown key)
        node = {}
        value = value.get(part) if isinstance(value, dict) else None
    return path, node, value, other_branch


def closest(name: str, names: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the valid name ``name`` most likely meant, if one is close."""
    names = list(names)
    folded = {n.lower().replace("-", "_").replace(" ", "_"): n for n in names}
    key = name.lower().replace("-", "_").replace(" ", "_")
    starts = [n for n in names if len(name) >= 3 and n.lower().startswith(name.lower())]
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.6)
    best = (
        folded.get(key) or (starts[0] if len(starts) == 1 else None) or (folded[close[0]] if close else None)
    )
    return f" (did you mean {best!r}?)" if best else ""


# What a value of the wrong type was expected to be, by pydantic's error type.
_EXPECTED = {
    "int": "an integer",
    "float": "a number",
    "decimal": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list",
    "tuple": "a list",
    "dict": "an object",
    "model": "an object",
    "model_attributes": "an object",
}


def problem_of(error: Mapping[str, Any], schema: Mapping[str, Any], arguments: Any) -> tuple[Problem, bool]:
    """One pydantic error as a Problem; the flag says it concerns a union member not meant."""
    path, node, value, other_branch = _resolve(list(error["loc"]), schema, arguments)
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    where = path_text(path)
    if kind == "extra_forbidden":
        _, parent, _, _ = _resolve(list(error["loc"])[:-1], schema, arguments)
        names = list(_props(parent))
        name = str(path[-1])
        valid = "the fields here are " + ", ".join(names) + closest(name, names)
        return Problem(where, f"unknown field {name!r}", valid), other_branch
    if kind == "missing":
        return Problem(where, "missing; this field is required", valid_text(node)), other_branch
    got = f"got {describe_value(value)}" if value is not None or kind != "none_required" else "got null"
    if kind in ("literal_error", "enum"):
        allowed = [str(v) for m in _members(node) for v in m.get("enum", [])]
        suggestion = closest(str(value), allowed) if isinstance(value, str) else ""
        return Problem(where, got, (valid_text(node) or "") + suggestion), other_branch
    if kind.startswith(("string_too", "too_short", "too_long")):
        size = (
            f"{len(value)} characters"
            if isinstance(value, str)
            else f"{len(value)} items"
            if isinstance(value, list | dict)
            else ""
        )
        return Problem(where, f"got {size}" if size else got, valid_text(node)), other_branch
    if kind.startswith(("date_", "datetime_")):
        return Problem(where, f"{got}, not a date", ISO_DATE), other_branch
    if kind in ("value_error", "assertion_error"):
        example = _EXAMPLE.search(node.get("description") or "") if isinstance(node, Mapping) else None
        hint = f"e.g. {example.group(1).strip()}" if example else valid_text(node) if path else None
        return Problem(where, message, hint), other_branch
    expected = _EXPECTED.get(kind.rsplit("_", 1)[0]) if kind.endswith(("_type", "_parsing")) else None
    if expected:
        return Problem(where, f"{got}, which is not {expected}", valid_text(node)), other_branch
    if kind.startswith(("greater_than", "less_than", "multiple_of")):
        return Problem(where, f"{got}, out of range", valid_text(node)), other_branch
    return Problem(where, f"{got}: {message[0].lower() + message[1:]}", valid_text(node)), other_branch


def validation_problems(exc: ValidationError, schema: Mapping[str, Any], arguments: Any) -> list[Problem]:
    """Every problem of a pydantic error. Errors inside a union member of another JSON type than the
    value sent (the ``str`` member when an object was sent) are folded into one problem per place,
    kept only when nothing more precise was said there ("got 5; valid: an object ... or text")."""
    problems: list[Problem] = []
    folded: dict[str, Problem] = {}
    for error in exc.errors(include_url=False):
        problem, other_branch = problem_of(error, schema, arguments)
        if not other_branch:
            problems.append(problem)
            continue
        before = _before_tag(list(error["loc"]), schema)
        path, union, value, _ = _resolve(before, schema, arguments)
        folded.setdefault(
            path_text(path), Problem(path_text(path), f"got {describe_value(value)}", valid_text(union))
        )
    placed = [p.path for p in problems]
    for where, problem in folded.items():
        if not any(p == where or p.startswith((f"{where}.", f"{where}[")) for p in placed):
            problems.append(problem)
    return problems


def _before_tag(loc: Sequence[str | int], schema: Mapping[str, Any]) -> list[str | int]:
    """The part of ``loc`` before its first union tag: where the union is."""
    node: Any = schema
    for i, part in enumerate(loc):
        if isinstance(part, int):
            node = _items(node) or {}
        elif part in _props(node):
            node = _props(node)[part]
        else:
            return list(loc[:i])
    return list(loc)


# --------------------------------------------------------------------------------------------------
# The tool.


class CheckedTool(Tool):
    """A ``Tool`` that prepares its arguments and reports every argument error in the one format.

    The published ``parameters`` stay the precise (lean) schema and the SDK's argument model stays
    the precise model; ``full_schema`` is the generated schema with every description, quoted in
    errors.
    """

    full_schema: dict[str, Any] = Field(default_factory=dict, exclude=True)

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        parsed = self.fn_metadata.pre_parse_json(arguments)
        if deepjson.depth(parsed) > MAX_INPUT_DEPTH:
            # No parameter nests this deep; refused before anything walks it recursively.
            levels, path = deepjson.deepest_path(parsed)
            wrong = f"nested {levels} levels deep"
            valid = f"at most {MAX_INPUT_DEPTH} levels of nested lists and objects in the whole call"
            problem = Problem(deepjson.path_text(path), wrong, valid)
            raise ToolError(f"Error executing tool {self.name}: {self.refuse([problem])}")
        prepared, problems = prepare(parsed, self.parameters)
        try:
            self.fn_metadata.arg_model.model_validate(prepared)
        except ValidationError as exc:
            found = validation_problems(exc, self.full_schema or self.parameters, prepared)
            seen = {p.path for p in problems}
            problems += [p for p in found if p.path not in seen]
            cause: Exception | None = exc
        else:
            cause = None
        if problems:
            raise ToolError(f"Error executing tool {self.name}: {self.refuse(problems)}") from cause
        return await super().run(prepared, context, convert_result)

    def refuse(self, problems: Sequence[Problem]) -> str:
        listed = "argument" if len(problems) == 1 else "arguments"
        return refusal(problems, f"fix the listed {listed} and call {self.name} again; nothing was changed")
