"""What a tool publishes in ``tools/list``: its generated JSON schemas, made lean without losing a constraint.

``tools/list`` is read into every conversation before any work, so each character costs every user
(``bench/surface.py`` counts them; ``tests/meta/test_meta_surface_budget.py`` keeps the budget).
pydantic's schemas carry much that tells a model nothing the structure does not already say:
generated ``title`` keys (``"title": "Target Date"`` next to the property ``target_date``), a nested
model's docstring under every field that uses it, ``"default": null`` beside ``anyOf: [X, null]`` on
optional fields, enum values listed again in prose, and output schemas that describe every result
field a second time.

``lean_input_schema`` and ``lean_output_schema`` take that away generically, so a new spec field
costs only its own constraints and a short description:

- every validating keyword of an input schema stays (types, enums, bounds, lengths, patterns,
  formats, required, ``additionalProperties: false``); an optional field's null alternative goes,
  as omitting the field says the same (the server still reads an explicit null as omitted);
- the tool's own parameters keep the first sentence of their description; nested fields are said
  by name, type and constraints (the step's prompt is their field guide, and an argument error
  quotes the field's whole description);
- an output schema only loosens, so every result still validates against it (the TypeScript SDK
  checks each structured result); the result's fields are described in the tool description.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# Keywords whose value is a map of property names to subschemas: its keys are names, not keywords.
_NAMED = ("properties", "$defs", "definitions", "patternProperties")
# Keywords whose value is a subschema or a list of them.
_SUBSCHEMAS = ("items", "anyOf", "oneOf", "allOf", "not", "additionalProperties", "prefixItems")
# Output schemas keep the shape of the result down to this depth. 0 ("an object") costs 17 characters
# a tool; 1 (the result's field names and types) costs ~3,300 in all, more than every parameter's
# description together, and a model reads the fields from the result itself.
OUTPUT_DEPTH = 0


def inline_refs(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Replace every local ``$ref`` with the definition it points to and drop ``$defs``.

    Several hosts mishandle ``$ref`` in tool schemas. Raises ValueError for a recursive model, which
    cannot be inlined (and must not be a tool input).
    """
    defs: Mapping[str, Any] = schema.get("$defs", {})

    def resolve(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if not ref.startswith("#/$defs/"):
                    raise ValueError(f"cannot inline non-local $ref {ref!r}")
                name = ref.removeprefix("#/$defs/")
                if name in trail:
                    raise ValueError(f"recursive schema through {' -> '.join((*trail, name))}")
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                return resolve({**defs[name], **siblings}, (*trail, name))
            return {k: resolve(v, trail) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item, trail) for item in node]
        return node

    return resolve(dict(schema), ())


def _strip(node: Any, drop: Any) -> Any:
    """``node`` with the keywords ``drop(schema) -> set`` names removed from every subschema."""
    if isinstance(node, list):
        return [_strip(item, drop) for item in node]
    if not isinstance(node, dict):
        return node
    gone = drop(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in gone:
            continue
        if key in _NAMED and isinstance(value, dict):
            out[key] = {name: _strip(sub, drop) for name, sub in value.items()}
        elif key in _SUBSCHEMAS:
            out[key] = _strip(value, drop)
        else:
            out[key] = value  # a keyword's value (enum members, defaults, ...) is data, not schema
    return out


def _is_empty_default(value: Any) -> bool:
    """None, or containers holding nothing but empty containers (``{"preserved": [], ...}``)."""
    if isinstance(value, dict):
        return all(_is_empty_default(v) for v in value.values())
    if isinstance(value, list):
        return not value
    return value is None


def _noise(node: Mapping[str, Any]) -> set[str]:
    """Keywords of one subschema that say nothing the rest of the schema does not."""
    gone = {"title"} if isinstance(node.get("title"), str) else set()
    if "default" in node and _is_empty_default(node["default"]):
        gone.add("default")  # an optional field's absence already means "none"
    return gone


# Only the tool's own parameters are described in ``tools/list``; the fields of nested objects are
# said by their names, types and constraints, the step's prompt explains them, and an argument error
# quotes the field's whole description (``server/arguments.py``).
DESCRIBE_DEPTH = 1
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)(?<!etc)(?:\.\s+(?=[A-Z`\[{(])|;\s+)")


def _without_enum_list(text: str, enum: list[Any]) -> str:
    """``text`` without a plain list of exactly the enum's values (``a, b or c``): the enum says it."""
    values = "|".join(re.escape(str(v)) for v in sorted(enum, key=lambda v: -len(str(v))))
    listed = re.compile(rf"(?<![\w-])(?:{values})(?:(?:,\s*|,?\s+or\s+|,?\s+and\s+)(?:{values}))+(?=$|[;.,])")
    for found in listed.finditer(text):
        named = set(re.findall(values, found.group()))
        if named == {str(v) for v in enum}:
            return (text[: found.start()] + text[found.end() :]).strip(" :;,.")
    return text


_OPENING_QUOTE = re.compile(r"(?:^|(?<=[\s\[({]))['\"`]")
_CLOSING_QUOTE = re.compile(r"['\"`](?=$|[\s,;.\])}])")


def _first_sentence(text: str) -> str:
    """Up to the first sentence end (``. `` before a capital, or ``; ``) that is not inside a quote."""
    for end in _SENTENCE_END.finditer(text):
        head = text[: end.start()]
        if len(_OPENING_QUOTE.findall(head)) <= len(_CLOSING_QUOTE.findall(head)):
            return head
    return text


MAX_DESCRIPTION = 110


def _clause_cut(text: str, limit: int) -> str:
    """``text`` cut at its last clause boundary (``, ``, ``: ``, `` - ``) before ``limit`` that is
    outside brackets and quotes; ``text`` whole when there is none."""
    depth, quoted, cut = 0, False, None
    for i, ch in enumerate(text[:limit]):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch in "'\"`" and (i == 0 or not text[i - 1].isalnum()):
            quoted = True
        elif ch in "'\"`" and quoted:
            quoted = False
        elif ch in ",:" and text[i + 1 : i + 2] == " " and depth == 0 and not quoted and i > 20:
            cut = i
    return text if cut is None else text[:cut]


def concise(text: str, enum: list[Any] | None = None, limit: int = MAX_DESCRIPTION) -> str:
    """The first sentence of a description, without a restated list of the enum's values, cut at a
    clause boundary when it is longer than ``limit``."""
    text = " ".join(text.split())
    if enum:
        text = _without_enum_list(text, enum)
    text = _first_sentence(text).strip(" ;")
    return _clause_cut(text, limit) if len(text) > limit else text


def _described(node: Any, depth: int, is_field: bool = False) -> Any:
    """Descriptions shortened on the fields a model reads first (``DESCRIBE_DEPTH``), dropped below
    them, and dropped on array items and union members (a nested model's docstring)."""
    if isinstance(node, list):
        return [_described(item, depth) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str):
            text = concise(value, node.get("enum")) if is_field and depth <= DESCRIBE_DEPTH else ""
            if text:
                out[key] = text
        elif key in _NAMED and isinstance(value, dict):
            out[key] = {name: _described(sub, depth + 1, is_field=True) for name, sub in value.items()}
        elif key in _SUBSCHEMAS:
            out[key] = _described(value, depth)
        else:
            out[key] = value
    return out


def _optional_null(node: Any) -> Any:
    """``anyOf: [X, {type: null}]`` with ``default: null`` becomes X: an optional field's null means
    "omitted", which leaving it out says; the server still reads an explicit null as omitted."""
    if isinstance(node, list):
        return [_optional_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    members = node.get("anyOf")
    if (
        "default" in node
        and node["default"] is None
        and isinstance(members, list)
        and {"type": "null"} in members
        and len(members) == 2
    ):
        (kept,) = [m for m in members if m != {"type": "null"}]
        rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
        return _optional_null({**kept, **rest})
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NAMED and isinstance(value, dict):
            out[key] = {name: _optional_null(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMAS:
            out[key] = _optional_null(value)
        else:
            out[key] = value
    return out


def lean_input_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema a tool publishes for its arguments: inlined, closed, and without annotation noise.

    Every validating keyword stays; ``title``, empty ``default``s and the null alternative of
    optional fields go, and descriptions are cut to what a model reads (``DESCRIBE_DEPTH``).
    """
    lean = _optional_null(inline_refs(schema))
    lean = _strip(lean, _noise)
    lean = _described(lean, 0)
    lean["additionalProperties"] = False
    return lean  # type: ignore[no-any-return]


def _loosen(node: Any, depth: int) -> Any:
    """A subschema that accepts at least what ``node`` accepts, keeping types down to ``depth``."""
    if not isinstance(node, dict):
        return node
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            return {key: [_loosen(member, depth) for member in node[key]]}
    kind = node.get("type")
    if kind is None:
        return {}
    out: dict[str, Any] = {"type": kind}
    if depth <= 0:
        return out
    if kind == "object" and isinstance(node.get("properties"), dict):
        out["properties"] = {name: _loosen(sub, depth - 1) for name, sub in node["properties"].items()}
        if node.get("required"):
            out["required"] = list(node["required"])
    elif kind == "array" and isinstance(node.get("items"), dict):
        items = _loosen(node["items"], depth - 1)
        if items:
            out["items"] = items
    return out


def lean_output_schema(schema: Mapping[str, Any], depth: int = OUTPUT_DEPTH) -> dict[str, Any]:
    """The result's shape down to ``depth`` (0: "an object"; 1: its field names and types), no prose.

    Only ever looser than the generated schema, so every result the tool returns still validates.
    """
    lean = _loosen(inline_refs(schema), depth)
    lean["type"] = "object"
    return lean  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------------
# What the surface costs.

TOTAL_BUDGET = 30_000  # characters of tools/list, all tools
TOOL_BUDGET = 6_000  # characters of one tool's entry


def _chars(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _description_chars(node: Any) -> int:
    if isinstance(node, dict):
        own = len(node["description"]) if isinstance(node.get("description"), str) else 0
        return own + sum(_description_chars(v) for k, v in node.items() if k != "description")
    if isinstance(node, list):
        return sum(_description_chars(v) for v in node)
    return 0


def surface_cost(tools: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Characters each tool costs in ``tools/list`` (compact JSON, as on the wire), split into
    ``input`` and ``output`` schemas and ``descriptions`` (the tool's and its parameters'), plus a
    ``total`` row. ``tools`` are the listed tools dumped by alias (``inputSchema``, ...)."""
    rows: dict[str, dict[str, int]] = {}
    for tool in tools:
        rows[tool["name"]] = {
            "chars": _chars(tool),
            "input": _chars(tool.get("inputSchema", {})),
            "output": _chars(tool["outputSchema"]) if "outputSchema" in tool else 0,
            "descriptions": len(tool.get("description") or "") + _description_chars(tool.get("inputSchema")),
        }
    rows["total"] = {
        key: sum(row[key] for row in rows.values()) for key in ("chars", "input", "output", "descriptions")
    }
    return rows
