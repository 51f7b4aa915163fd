"""Markdown building blocks shared by the artifact renderers: lists, fenced blocks and inline code.

They know nothing about any artifact kind, so every kind's renderer can use them without importing
another kind. Multi-line items are indented so they stay inside their list item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["bullets", "escape_html", "fenced", "inline_code", "numbered"]


def _indent(text: str, prefix: str) -> str:
    first, *rest = text.split("\n")
    return "\n".join([first, *[(prefix + line) if line else "" for line in rest]])


def bullets(items: Iterable[str]) -> str:
    return "\n".join("- " + _indent(item, "  ") for item in items)


def numbered(items: Iterable[str]) -> str:
    return "\n".join(f"{n}. " + _indent(item, "   ") for n, item in enumerate(items, 1))


def fenced(text: str, lang: str = "") -> str:
    # A fence longer than any backtick run inside keeps user text from closing the block early.
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def inline_code(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


# -- raw HTML in user text ----------------------------------------------------------------------------
#
# Artifacts carry user text into Markdown, and Markdown passes raw HTML through: `<script>`,
# `<img onerror=...>` or `<iframe>` in a risk's description would run in any viewer that renders
# the stored Markdown. ``escape_html`` turns every `<` that could open a tag, a comment or a
# declaration into `&lt;`, which renders as the `<` it was, except where the text is code: inside a
# fenced block or a code span a renderer shows `&lt;` literally, and the text is inert there anyway.
#
# Where code starts and ends depends on list nesting and on how backticks pair, and a guess that
# calls prose "code" would let HTML through. So a `<` is left alone only where every reading agrees
# it is code: a fenced line must be code whether lists are read with lazy continuation, without it,
# or ignoring indentation altogether; a code span is trusted only in a paragraph whose every line
# pairs all its backtick runs by itself (then no way of joining lines pairs them differently) and
# holds no `|` (a table cell boundary would split it). Everything else is escaped.
#
# A fourth reading sees no lists at all, so a fence indented four or more columns is never trusted:
# whether a list item holds it turns on rules a guess gets wrong (an empty item or one numbered from
# 2 cannot interrupt a paragraph, an item cannot start with two blank lines), and if none does it is
# indented code or paragraph text. Such code, in lists nested two deep, shows `&lt;` instead of `<`.
# Lines end where CommonMark ends them: at `\r\n`, `\r` or `\n`.

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_FENCE_OPEN = re.compile(r"(`{3,})(?!.*`)|(~{3,})")
_MARKER = re.compile(r"([-+*]|\d{1,9}[.)])( {1,4}(?! )|(?= {5})| *$)")
_BLOCK_START = re.compile(r"#{1,6}(\s|$)|>|[-+*](\s|$)|\d{1,9}[.)](\s|$)|(?P<rule>[-*_])( *(?P=rule)){2,} *$")
_LINE_END = re.compile(r"(\r\n|\r|\n)")
_CODE, _FENCE, _TEXT = "code", "fence", "text"


def escape_html(markdown: str) -> str:
    """``markdown`` with raw HTML outside code made inert (see above); all else byte for byte."""
    if _TAG_START.search(markdown) is None:  # no `<` that could open anything: nothing to escape
        return markdown
    pieces = _LINE_END.split(markdown)
    lines, ends = pieces[0::2], [*pieces[1::2], ""]
    readings = [_roles(lines, mode) for mode in ("lazy", "eager", "blind", "flat")]
    roles = [
        _CODE if all(r[i] == _CODE for r in readings) else _FENCE if all(r[i] == _FENCE for r in readings)
        else _TEXT
        for i in range(len(lines))
    ]  # fmt: skip
    out = list(lines)
    start = 0
    for i in range(len(lines) + 1):
        if i == len(lines) or roles[i] != _TEXT or not lines[i].strip():
            _escape_paragraph(out, start, i)
            start = i + 1
            if i < len(lines) and roles[i] == _FENCE:  # an info string is not code either
                out[i] = _TAG_START.sub("&lt;", out[i])
    return "".join(line + end for line, end in zip(out, ends, strict=True))


def _starts_block(text: str) -> bool:
    # A ``` line that cannot open a fence (a backtick in its info string) is paragraph text.
    return bool(_BLOCK_START.match(text) or _FENCE_OPEN.match(text))


def _escape_paragraph(out: list[str], start: int, end: int) -> None:
    spans = [_code_spans(out[i]) for i in range(start, end)]
    trusted = all(s is not None for s in spans)
    for i, found in zip(range(start, end), spans, strict=True):
        out[i] = _escape_outside(out[i], found if trusted and found else [])


def _escape_outside(line: str, spans: list[tuple[int, int]]) -> str:
    pieces, at = [], 0
    for begin, end in spans:
        pieces += [_TAG_START.sub("&lt;", line[at:begin]), line[begin:end]]
        at = end
    pieces.append(_TAG_START.sub("&lt;", line[at:]))
    return "".join(pieces)


def _code_spans(line: str) -> list[tuple[int, int]] | None:
    """Where the code spans of ``line`` are, or None if a backtick run finds no partner on the line
    or a span holds a `|`."""
    spans, i, n = [], 0, len(line)
    while i < n:
        if line[i] == "\\":
            i += 2  # an escaped character, a backtick included
            continue
        if line[i] != "`":
            i += 1
            continue
        j = i
        while j < n and line[j] == "`":
            j += 1
        k, close = j, None
        while k < n and close is None:
            if line[k] != "`":
                k += 1
                continue
            e = k
            while e < n and line[e] == "`":
                e += 1
            close, k = ((k, e) if e - k == j - i else None), e
        if close is None or "|" in line[j : close[0]]:
            return None
        spans.append((i, close[1]))
        i = close[1]
    return spans


def _roles(lines: list[str], mode: str) -> list[str]:
    """Each line as code (inside a fenced block), fence (its opening or closing line) or text, read
    with lists' lazy continuation (``lazy``), without it (``eager``), ignoring indentation
    (``blind``) or ignoring list items (``flat``)."""
    roles: list[str] = []
    cols = [0]  # content columns of the open list items; 0 is the document
    fence: tuple[str, int, int] | None = None  # fence character, length, column of its container
    prose = False  # the line before continues a paragraph (lazy continuation may follow)
    for line in lines:
        expanded = line.expandtabs(4)
        body = expanded.lstrip(" ")
        indent = len(expanded) - len(body)
        if fence is not None:
            char, length, col = fence
            if mode == "blind" or not body or indent >= col:
                closes = body.rstrip(" ") == char * max(length, len(body.rstrip(" ")))
                if closes and (mode == "blind" or indent - col <= 3):
                    fence = None
                    roles.append(_FENCE)
                else:
                    roles.append(_CODE)
                continue
            fence = None  # the list item holding the fence ended, and the fence with it
        if not body:
            roles.append(_TEXT)
            prose = False
            continue
        if mode == "blind":
            opened = _FENCE_OPEN.match(body)
            if opened:
                fence = (opened.group()[0], len(opened.group(1) or opened.group(2)), 0)
            roles.append(_FENCE if opened else _TEXT)
            continue
        if not (mode == "lazy" and prose and not _starts_block(body)):
            while len(cols) > 1 and indent < cols[-1]:
                cols.pop()
        pos, rest = indent, body
        while mode != "flat" and pos - cols[-1] <= 3 and (marker := _MARKER.match(rest)):
            width = len(marker.group(1)) + (len(marker.group(2)) or 1)
            cols.append(pos + width)
            rest = rest[len(marker.group()) :]
            stripped = rest.lstrip(" ")
            pos, rest = pos + len(marker.group()) + len(rest) - len(stripped), stripped
        opened = _FENCE_OPEN.match(rest) if pos - cols[-1] <= 3 else None
        if opened:
            fence = (opened.group()[0], len(opened.group(1) or opened.group(2)), cols[-1])
            roles.append(_FENCE)
            prose = False
        else:
            roles.append(_TEXT)
            prose = bool(rest) and not _starts_block(rest)
    return roles
