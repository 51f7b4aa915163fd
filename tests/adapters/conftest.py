"""Every storage backend behind one ``store`` fixture, so the contract suite runs on each.

To add a backend, append a ``Backend`` to ``BACKENDS``. A backend whose module is missing is left out
silently (it is being built elsewhere); ``features`` lists what it supports, and tests that need a
feature it lacks are skipped for it with ``require(...)``.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from release_planner.tools.ports import Store

ALL_FEATURES = frozenset(
    {
        "cas",  # expected_revision is enforced; revisions count sidecars
        "atomic",  # a failing change leaves the whole commit unstored
        "metadata",  # data.metadata (the structured spec) round-trips
        "tags",  # tags on every record type round-trip
        "ids",  # the ids given in a Change are the ids stored
        "clock",  # timestamps come from the injected clock
        "exact_reads",  # reads return exactly what commit returned, newest first to the nanosecond
        "inactive_links",  # a relationship can be created inactive
        "task_end",  # a task's end_time and outcome (engram's Task::complete) round-trip
    }
)


class FakeClock:
    """Deterministic time: each call is one millisecond after the previous one."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclass(frozen=True)
class Backend:
    name: str
    module: str
    factory: Callable[[Path, FakeClock], Store]
    features: frozenset[str] = ALL_FEATURES


def _memory(tmp_path: Path, clock: FakeClock) -> Store:
    from release_planner.server.engram.memory import MemoryStore

    return MemoryStore(clock=clock)


def _git(tmp_path: Path, clock: FakeClock) -> Store:
    from release_planner.server.engram.gitrefs import GitRefsStore

    return GitRefsStore(tmp_path / "workspace", clock=clock)


def _engram_cli(tmp_path: Path, clock: FakeClock) -> Store:
    # The real engram cannot run in tests: tests/fake_engram/engram stands in for its CLI, launched
    # with this interpreter whatever `python3` is on PATH.
    from release_planner.server.engram.cli import EngramCliStore

    fake = Path(__file__).resolve().parent.parent / "fake_engram" / "engram"
    launcher = tmp_path / "engram"
    launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S {shlex.quote(str(fake))} "$@"\n')
    launcher.chmod(0o755)
    (tmp_path / "workspace").mkdir()
    return EngramCliStore(tmp_path / "workspace", binary=str(launcher))


BACKENDS: list[Backend] = [
    Backend("memory", "release_planner.server.engram.memory", _memory),
    Backend("git", "release_planner.server.engram.gitrefs", _git),
    # Opt-in backend: no CAS, no atomicity, engram picks ids and clock, tags/metadata are lost
    # (see LIMITATIONS in server/engram/cli.py).
    Backend("engram-cli", "release_planner.server.engram.cli", _engram_cli, frozenset()),
]


def _available() -> list[Backend]:
    found = []
    for backend in BACKENDS:
        try:
            present = importlib.util.find_spec(backend.module) is not None
        except ImportError:
            present = False
        if present:
            found.append(backend)
    return found


@pytest.fixture(params=[b.name for b in _available()])
def backend(request: pytest.FixtureRequest) -> Backend:
    return next(b for b in BACKENDS if b.name == request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(backend: Backend, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    instance = backend.factory(tmp_path, clock)
    yield instance
    instance.close()


@pytest.fixture
def require(backend: Backend) -> Callable[..., None]:
    def _require(*features: str) -> None:
        missing = set(features) - backend.features
        if missing:
            pytest.skip(f"{backend.name} does not support {', '.join(sorted(missing))}")

    return _require
