"""Golden files: expected Markdown kept as exact bytes under tests/unit/golden/."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def assert_matches_golden(text: str, name: str) -> None:
    """``text`` must equal the stored file byte for byte. ``UPDATE_GOLDEN=1`` rewrites the file
    instead: read the diff critically before committing it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
