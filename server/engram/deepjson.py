"""JSON nested deeper than the fast paths handle: measured, read, and refused on write with its path.

orjson writes at most 254 levels and reads at most 1,024; the standard library's encoder recurses in
C and stops near the interpreter's recursion limit. Our own entities are a few levels deep, but
another tool may store a ``metadata`` value nested far deeper, and such an entity must neither
vanish from reads nor make an update fail without saying why.

- ``depth`` and ``deepest_path`` measure a value without recursion.
- ``loads`` parses JSON of any depth without recursion (strings through the standard library's
  scanner, so escapes and control characters are judged as ``json`` judges them); the reader
  falls back to it when orjson refuses a blob for its depth.
- ``MAX_WRITE_DEPTH`` is the deepest data a rewrite keeps: past orjson's limit the standard library
  encodes the same bytes, up to this depth with room to spare under the recursion limit.
"""

from __future__ import annotations

import json
import re
from typing import Any

ORJSON_MAX_DEPTH = 254
MAX_WRITE_DEPTH = 500

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}


def depth(value: Any) -> int:
    """Levels of lists and objects in ``value`` (a scalar is 0, ``[]`` is 1, ``[[]]`` is 2)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def too_deep(value: Any, where: str, limit: int) -> str | None:
    """None if ``value`` is at most ``limit`` levels deep, else what is too deep, in words."""
    if depth(value) <= limit:
        return None
    levels, path = deepest_path(value)
    return f"{path_text([where, *path])} is nested {levels} levels deep, more than {limit}"


def deepest_path(value: Any) -> tuple[int, list[str | int]]:
    """(levels, path to one of the deepest containers) of ``value``, found without recursion."""
    # Each container reached is one step (its parent's step, its key): linear in the size of
    # ``value`` however deep, where copying the path at each level would be quadratic.
    steps: list[tuple[int, str | int]] = []
    best_level, best_step = 0, -1
    stack: list[tuple[Any, int, int]] = [(value, 1, -1)]
    while stack:
        node, level, step = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if level > best_level:
            best_level, best_step = level, step
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(child, dict | list):
                steps.append((step, key))
                stack.append((child, level + 1, len(steps) - 1))
    path: list[str | int] = []
    while best_step >= 0:
        best_step, key = steps[best_step]
        path.append(key)
    return best_level, path[::-1]


def path_text(path: list[str | int], limit: int = 6) -> str:
    """``metadata.other[0][0]…`` for a path, its first ``limit`` steps shown."""
    out = ""
    for part in path[:limit]:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out + ("…" if len(path) > limit else "")


def loads(raw: bytes | str) -> Any:
    """Parse one JSON document of any depth; ValueError (with a position) if it is not JSON."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    containers: list[dict[str, Any] | list[Any]] = []
    keys: list[str | None] = []
    root: Any = None
    while True:
        if pos >= len(text):
            raise ValueError(f"unexpected end of JSON at char {pos}")
        ch = text[pos]
        value: Any
        opened = False
        if ch == "{" or ch == "[":
            value = {} if ch == "{" else []
            opened = True
            pos += 1
        elif ch == '"':
            value, pos = _string(text, pos)
        elif ch in "tfn":
            word = text[pos : pos + (5 if ch == "f" else 4)]
            if word not in _LITERALS:
                raise ValueError(f"invalid literal at char {pos}")
            value, pos = _LITERALS[word], pos + len(word)
        else:
            match = _NUMBER.match(text, pos)
            if match is None:
                raise ValueError(f"unexpected {ch!r} at char {pos}")
            number = match.group()
            value = float(number) if match.group(1) or match.group(2) else int(number)
            pos = match.end()
        if containers:
            parent = containers[-1]
            if isinstance(parent, list):
                parent.append(value)
            else:
                parent[keys[-1]] = value  # type: ignore[index]
        else:
            root = value
        if opened:
            containers.append(value)
            keys.append(None)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            closer = "}" if isinstance(value, dict) else "]"
            if pos < len(text) and text[pos] == closer:
                containers.pop()
                keys.pop()
                pos += 1
            elif isinstance(value, dict):
                keys[-1], pos = _key(text, pos)
                continue
            else:
                continue
        # after a value: a comma and the next member, or closing brackets
        while True:
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if not containers:
                if pos != len(text):
                    raise ValueError(f"extra data at char {pos}")
                return root
            top = containers[-1]
            closer = "}" if isinstance(top, dict) else "]"
            if pos < len(text) and text[pos] == ",":
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                if isinstance(top, dict):
                    keys[-1], pos = _key(text, pos)
                break
            if pos < len(text) and text[pos] == closer:
                containers.pop()
                keys.pop()
                pos += 1
                continue
            raise ValueError(f"expected ',' or {closer!r} at char {pos}")


def _string(text: str, pos: int) -> tuple[str, int]:
    value, end = json.decoder.scanstring(text, pos + 1, True)  # type: ignore[attr-defined]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"lone surrogate in the string at char {pos}") from None
    return value, end


def _key(text: str, pos: int) -> tuple[str, int]:
    if pos >= len(text) or text[pos] != '"':
        raise ValueError(f"expected a key at char {pos}")
    key, pos = _string(text, pos)
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos >= len(text) or text[pos] != ":":
        raise ValueError(f"expected ':' at char {pos}")
    return key, _WS.match(text, pos + 1).end()  # type: ignore[union-attr]


def dumps_pretty(value: Any) -> bytes:
    """``json.dumps(indent=2, ensure_ascii=False)``: the bytes orjson's OPT_INDENT_2 writes, for data
    orjson refuses for its depth (at most ``MAX_WRITE_DEPTH`` levels, checked by the caller)."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False).encode("utf-8")
