"""Hypothesis strategies from the tools' published input schemas, and schema-aware mutations.

Covers the JSON-schema subset our tools publish (checked by ``unsupported_keywords``): type, enum,
anyOf, properties/required/additionalProperties, items/minItems/maxItems, minLength/maxLength,
pattern, format=date, minimum/maximum and their exclusive forms, default. Strings whose meaning
the schema does not carry (versions, T-offsets, clock times) also draw from realistic values, so
generated calls get past the first check and reach the planning code.

A mutation changes one place of a known-good call (an optional field is never set to null: the
server reads that as the field left out). It is ``must_fail`` only when both JSON schema
and pydantic's lax mode refuse the new value (pydantic accepts ``True`` for an integer, ``"12"``
for an int, an int for a date, so those are never offered as "wrong type").
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

SUPPORTED = {
    "type",
    "enum",
    "anyOf",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "default",
    "description",
    "title",
    "examples",
}

Path = tuple[str | int, ...]
REMOVE = object()  # a mutation that deletes the key at the path

MAX_GENERATED_ITEMS = 3

# Realistic values for strings whose format lives in validators, not in the schema.
SEMVER = st.one_of(
    st.sampled_from(["2.5.0", "v2.5.0", "3.0.0", "2.6.0", "10.0.0-rc.1", "1.2.3+build.5"]),
    st.builds("{}.{}.{}".format, st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
)
T_DAYS = st.one_of(st.just("T"), st.builds("T{:+d}".format, st.integers(-400, 400)))
T_MINUTES = st.one_of(
    st.just("T"),
    st.builds("T{:+d}min".format, st.integers(-600, 600)),
    st.builds("T{:+d}h".format, st.integers(-48, 48)),
)
CLOCK = st.builds("{:02d}:{:02d}".format, st.integers(0, 24), st.sampled_from([0, 15, 30, 59, 60]))
LOCAL_TIME = st.builds(
    lambda d, h, m: f"{d.isoformat()}T{h:02d}:{m:02d}",
    st.dates(dt.date(2025, 1, 1), dt.date(2028, 12, 31)),
    st.integers(0, 23),
    st.integers(0, 59),
)
ZONES = st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Mars/Olympus", ""])

SEMANTIC: dict[str, st.SearchStrategy[Any]] = {
    "version": SEMVER,
    "target_version": SEMVER,
    "start": T_DAYS,
    "end": T_DAYS,
    "at": st.one_of(T_MINUTES, LOCAL_TIME),
    "timezone": ZONES,
}
CLOCK_FIELDS = {"start", "end"}  # inside business_hours they are HH:MM
# T-offsets are published as strings but also read as plain numbers (migration phases in days, runbook
# steps in minutes): (list, field) pairs where a number is accepted.
NUMERIC_T_OFFSETS = {("phases", "start"), ("phases", "end"), ("steps", "at")}


def unsupported_keywords(schema: Any) -> set[str]:
    """Keywords used anywhere in ``schema`` that this module does not understand."""
    found: set[str] = set()
    if isinstance(schema, dict):
        found |= set(schema) - SUPPORTED
        for key, value in schema.items():
            if key == "properties":
                for sub in value.values():
                    found |= unsupported_keywords(sub)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                found |= unsupported_keywords(value)
            elif key == "anyOf":
                for sub in value:
                    found |= unsupported_keywords(sub)
    return found


def _text(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    alphabet = st.characters(codec="utf-8", exclude_categories=("Cs",))
    short = st.text(alphabet, min_size=low, max_size=min(high if high is not None else 40, 40))
    if high is None or high <= 40:
        return short
    # Now and then right at the limit, where off-by-one errors live.
    at_limit = st.builds(
        lambda n, unit: (unit * n)[:n],
        st.sampled_from([high - 1, high]),
        st.sampled_from(["ab ", "é😀", "x\n"]),
    )
    return st.one_of(short, at_limit)


def valid_shaped(schema: dict[str, Any], name: str | None = None, parent: str | None = None) -> Any:
    """A strategy for values the schema accepts (the server may still refuse them on meaning)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([valid_shaped(branch, name, parent) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date":
            return st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        base = _text(schema)
        if name in CLOCK_FIELDS and parent == "business_hours":
            return st.one_of(CLOCK, base)
        if name in SEMANTIC:
            high = schema.get("maxLength", 10**6)
            return st.one_of(SEMANTIC[name].filter(lambda v: len(v) <= high), base)
        return base
    if kind == "integer":
        low = schema.get("minimum", -(10**6))
        high = schema.get("maximum", 10**6)
        if "exclusiveMinimum" in schema:
            low = int(schema["exclusiveMinimum"]) + 1
        if "exclusiveMaximum" in schema:
            high = int(schema["exclusiveMaximum"]) - 1
        return st.integers(low, high)
    if kind == "number":
        return st.floats(
            min_value=schema.get("minimum", schema.get("exclusiveMinimum", -1e9)),
            max_value=schema.get("maximum", schema.get("exclusiveMaximum", 1e9)),
            exclude_min="exclusiveMinimum" in schema,
            exclude_max="exclusiveMaximum" in schema,
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", MAX_GENERATED_ITEMS), max(low, MAX_GENERATED_ITEMS))
        return st.lists(valid_shaped(schema.get("items", {}), parent=name), min_size=low, max_size=high)
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: valid_shaped(v, k, name) for k, v in props.items() if k in required},
            optional={k: valid_shaped(v, k, name) for k, v in props.items() if k not in required},
        )
    raise ValueError(f"schema without a type this generator knows: {schema}")


# --------------------------------------------------------------------------------------------------
# Mutations of a known-good call.


@dataclass(frozen=True)
class Mutation:
    path: Path  # where in the arguments
    label: str
    value: Any  # the new value, or REMOVE
    must_fail: bool
    names: tuple[str, ...]  # parameter/field names an error must mention

    def apply(self, args: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(args)
        *parents, last = self.path
        node: Any = out
        for key in parents:
            node = node[key]
        if self.value is REMOVE:
            del node[last]
        else:
            node[last] = self.value
        return out


def _branch(schema: dict[str, Any], value: Any) -> dict[str, Any] | None:
    """The branch of ``schema`` that describes ``value`` (for anyOf), by JSON type."""
    branches = schema.get("anyOf", [schema])
    want = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value)
    )
    if isinstance(value, int | float) and not isinstance(value, bool):
        want = "integer" if isinstance(value, int) else "number"
    for branch in branches:
        kind = branch.get("type")
        if (
            kind == want
            or (want == "integer" and kind == "number")
            or ("enum" in branch and want == "string")
        ):
            return branch
    return None


# Values pydantic refuses for these JSON types even in lax mode (it takes True or "12" for an int,
# 0 or "yes" for a bool, True for a float); strings, lists and objects take only their own type.
_WRONG: dict[str, list[Any]] = {
    "integer": ["seven", 1.5, ["x"], {"k": 1}],
    "number": ["seven", ["x"], {"k": 1}],
    "boolean": ["maybe", 2, 1.5, ["x"], {"k": 1}],
}
_CONTAINER: dict[str, type | tuple[type, ...]] = {"string": str, "array": list, "object": dict}


def _refused_by(branch: dict[str, Any], value: Any) -> bool:
    if "enum" in branch:
        return value not in branch["enum"]
    if branch.get("format") == "date":
        # pydantic reads numbers as Unix times, so only non-dates in text and containers are wrong.
        return value in ("not-a-date", "2026-13-45") or isinstance(value, list | dict)
    kind = branch.get("type")
    if kind in _CONTAINER:
        return not isinstance(value, _CONTAINER[kind])
    if kind == "null":
        return value is not None
    return any(value == w and type(value) is type(w) for w in _WRONG.get(str(kind), []))


def _wrong_values(schema: dict[str, Any]) -> list[Any]:
    branches = schema.get("anyOf", [schema])
    pool: list[Any] = [12345, 1.5, True, "text", ["x"], {"k": "v"}, None, "seven", "maybe", 2, 5, {"k": 1}]
    pool += ["not-a-date", "2026-13-45", "not-a-member"]
    return [v for v in pool if all(_refused_by(b, v) for b in branches) and not _null_ok(branches, v)]


def _null_ok(branches: list[dict[str, Any]], value: Any) -> bool:
    return value is None and any(b.get("type") == "null" for b in branches)


def _names(path: Path, extra: str | None = None) -> tuple[str, ...]:
    keys = [k for k in path if isinstance(k, str)]
    if extra is not None:
        keys.append(extra)
    return tuple(dict.fromkeys([keys[0], keys[-1]]))


def mutations(args: Any, schema: dict[str, Any], path: Path = ()) -> Iterator[Mutation]:
    """Every single-place mutation of ``args`` this module knows, with whether it must be refused."""
    branch = _branch(schema, args) if path else schema
    if path:
        for wrong in _wrong_values(schema):
            keys = [k for k in path if isinstance(k, str)]
            numeric = isinstance(wrong, int | float) and not isinstance(wrong, bool)
            lenient = numeric and tuple(keys[-2:]) in NUMERIC_T_OFFSETS
            yield Mutation(path, f"wrong type {type(wrong).__name__}", wrong, not lenient, _names(path))
    if branch is None:
        return
    if isinstance(args, str) and path:
        high = branch.get("maxLength")
        if high is not None:
            yield Mutation(path, "one char too long", "a" * (high + 1), True, _names(path))
        if branch.get("minLength", 0) >= 1:
            yield Mutation(path, "empty", "", True, _names(path))
        yield Mutation(path, "NUL inside", args[:1] + "\x00" + args[1:], True, _names(path))
        yield Mutation(path, "ESC inside", "\x1b[31m" + args, True, _names(path))
    if isinstance(args, int | float) and not isinstance(args, bool) and path:
        if "maximum" in branch:
            yield Mutation(path, "above maximum", branch["maximum"] + 1, True, _names(path))
        if "minimum" in branch:
            yield Mutation(path, "below minimum", branch["minimum"] - 1, True, _names(path))
        if "exclusiveMinimum" in branch:
            yield Mutation(path, "at exclusive minimum", branch["exclusiveMinimum"], True, _names(path))
    if isinstance(args, list):
        high = branch.get("maxItems")
        if high is not None and args:
            yield Mutation(
                path, "one item too many", [*args, *[args[-1]] * (high + 1 - len(args))], True, _names(path)
            )
        if branch.get("minItems", 0) >= 1:
            yield Mutation(path, "empty list", [], True, _names(path))
        for i, item in enumerate(args):
            yield from mutations(item, branch.get("items", {}), (*path, i))
    if isinstance(args, dict):
        props = branch.get("properties", {})
        closed = branch.get("additionalProperties") is False
        yield Mutation(
            (*path, "unexpected_field"), "unknown key", 1, closed, _names((*path, "unexpected_field"))
        )
        for key in branch.get("required", []):
            if key in args:
                yield Mutation((*path, key), "required key removed", REMOVE, True, _names((*path, key)))
        required = set(branch.get("required", []))
        for key, value in args.items():
            if key in props:
                for mutation in mutations(value, props[key], (*path, key)):
                    # The server reads an optional field sent as null as the field left out.
                    if mutation.value is None and mutation.path == (*path, key) and key not in required:
                        continue
                    yield mutation
