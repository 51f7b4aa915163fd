"""Fixtures for the Engram interop tests (helpers live in interop_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_helpers import FakeClock, Workspace

from release_planner.server.engram.gitrefs import GitRefsStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "workspace")


@pytest.fixture
def store(workspace: Workspace, clock: FakeClock) -> Iterator[GitRefsStore]:
    s = GitRefsStore(workspace.path, clock=clock)
    yield s
    s.close()
