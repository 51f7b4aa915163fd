"""Helpers shared by the protocol tests: result checks and id/time-blind comparison."""

from __future__ import annotations

import json
import re
from typing import Any

from mcp.types import CallToolResult

CLIENT_NAME = "protocol-test-client"
ERAS = ["legacy", "auto"]


def error_text(result: CallToolResult) -> str:
    assert result.is_error, f"expected an error, got {result.structured_content}"
    return " ".join(getattr(block, "text", "") for block in result.content)


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful call, checked against its text twin."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    (block,) = result.content
    assert json.loads(block.text) == result.structured_content  # type: ignore[union-attr]
    return dict(result.structured_content)


_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\b")


def stable(value: Any) -> Any:
    """``value`` with entity ids numbered in order of first appearance and timestamps blanked, so two
    runs that did the same things compare equal as a whole."""
    text = json.dumps(value, sort_keys=True)
    ids: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        return ids.setdefault(m[0], f"<id{len(ids) + 1}>")

    text = _UUID.sub(number, text)
    text = _TIME.sub("<time>", text)
    return json.loads(text)
