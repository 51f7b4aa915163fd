"""The public surface (tools with schemas, resources, prompts, instructions) against a reviewed snapshot.

Any change to a name, description, schema or annotation shows up as a diff of
tests/snapshots/tool_surface.json in review. After an intended change, regenerate it with
``UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/meta/test_meta_snapshot.py`` and commit the file.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest
from meta_surface import surface

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "tool_surface.json"
REGENERATE = "UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/meta/test_meta_snapshot.py"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def render(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


async def test_the_tool_surface_matches_the_snapshot() -> None:
    current = render(await surface())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
        pytest.skip(f"rewrote {SNAPSHOT}")
    if not SNAPSHOT.exists():
        pytest.fail(f"no snapshot at {SNAPSHOT}; create it with: {REGENERATE}")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if current != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), current.splitlines(), "snapshot", "current", lineterm="", n=2
        )
        shown = "\n".join(list(diff)[:80])
        pytest.fail(
            f"the MCP surface changed from {SNAPSHOT.name}. If the change is intended, regenerate it with\n"
            f"    {REGENERATE}\nand commit the file.\n{shown}",
            pytrace=False,
        )
