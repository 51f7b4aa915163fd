"""Hostile-input suites: generated and mutated arguments, limits, Unicode, ids aimed outside the namespace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# tests/helpers is shared with tests/hostile; test directories are not packages, so put tests/ on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
