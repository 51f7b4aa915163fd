"""Reliability suites: several server processes on one repository, kill -9, and foreign refs."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
