"""Markdown building blocks shared by the artifact renderers: lists, fenced blocks and inline code.

They know nothing about any artifact kind, so every kind's renderer can use them without importing
another kind. Multi-line items are indented so they stay inside their list item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["bullets", "fenced", "inline_code", "numbered"]


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
