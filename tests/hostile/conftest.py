"""Hostile-input suites: generated and mutated arguments, limits, Unicode, ids aimed outside the namespace."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
