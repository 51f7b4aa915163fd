"""Sync suites: a bare repository and clones of it, driven with the real git binary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_helpers import Member, Team

from release_planner.server.engram.sync import sync


@pytest.fixture
def team(tmp_path: Path) -> Team:
    return Team(tmp_path)


@pytest.fixture
def alice(team: Team) -> Iterator[Member]:
    """The founder's clone, with the seed release planned and synced."""
    member = Member(team.founder("alice"), "alice-client")
    member.plan()
    sync(member.path)
    yield member
    member.close()


@pytest.fixture
def bob(team: Team, alice: Member) -> Iterator[Member]:
    path = team.clone("bob")
    sync(path)
    member = Member(path, "bob-client")
    yield member
    member.close()
