"""Issue 13: what the git store's reads cost must not grow with an entity's revision history, and
what it keeps per entity must stay small (its index holds summaries, not refs or their sidecars)."""

from __future__ import annotations

import gc
import os
import re
import tracemalloc
from pathlib import Path

import pytest

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.ports import Change, ContextRecord, LinkRecord, TaskRecord, new_entity_id

_VDIR = re.compile(r"/v[0-9]+(/|$)")


def _history(path: Path, revisions: int) -> str:
    task = new_entity_id()
    with GitRefsStore(path) as store:
        store.commit([Change(task, TaskRecord(title="Release v1.0.0 - History"))])
        for n in range(1, revisions):
            record = TaskRecord(title=f"Release v1.0.0 - History {n}")
            store.commit([Change(task, record, expected_revision=n)])
    return task


def _watches(path: Path, revisions: int) -> int:
    _history(path, revisions)
    with GitRefsStore(path, refresh="inotify") as store:
        store.warm()
        assert store._ino is not None
        return len(store._ino._wds)


def test_inotify_watches_do_not_grow_with_revision_history(tmp_path: Path) -> None:
    assert _watches(tmp_path / "short", 2) == _watches(tmp_path / "long", 25)


def _touched_version_dirs(store: GitRefsStore, task: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths under ``v{N}/`` that one ``get`` stats, lists or probes."""
    touched: list[str] = []
    for name in ("stat", "lstat", "listdir", "scandir"):
        original = getattr(os, name)

        def spy(path: object = ".", *args: object, _original=original, **kwargs: object) -> object:
            touched.append(os.fsdecode(path) if isinstance(path, (str, bytes)) else str(path))
            return _original(path, *args, **kwargs)

        monkeypatch.setattr(os, name, spy)
    try:
        store.get("task", task)
    finally:
        monkeypatch.undo()
    return [p for p in touched if _VDIR.search(p)]


@pytest.mark.parametrize("revisions", [3, 25])
def test_a_stat_poll_read_does_not_walk_the_version_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, revisions: int
) -> None:
    task = _history(tmp_path, revisions)
    with GitRefsStore(tmp_path, refresh="stat") as store:
        assert store.get("task", task).revision == revisions  # type: ignore[union-attr]
        touched = _touched_version_dirs(store, task, monkeypatch)
    # At most the probe for a newer sidecar of the entity read (v{N+1}/<id>), whatever the history.
    assert len(touched) <= 1, touched


@pytest.mark.parametrize("refresh", ["inotify", "stat"])
def test_revisions_written_by_another_store_are_seen_without_watching_version_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refresh: str
) -> None:
    task = _history(tmp_path, 2)
    with GitRefsStore(tmp_path, refresh=refresh) as reader, GitRefsStore(tmp_path) as writer:  # type: ignore[arg-type]
        assert reader.get("task", task).revision == 2  # type: ignore[union-attr]
        watches = len(reader._ino._wds) if reader._ino is not None else 0
        for n in range(2, 6):
            record = TaskRecord(title=f"Release v1.0.0 - Moved {n}")
            writer.commit([Change(task, record, expected_revision=n)])
            seen = reader.get("task", task)
            assert seen is not None
            assert (seen.revision, seen.title) == (n + 1, f"Release v1.0.0 - Moved {n}")
            # Each write made a new v{N}/ directory; the reader neither watches nor polls it, yet
            # reads the new revision (and at most probes the next sidecar of the entity it reads).
            assert len(_touched_version_dirs(reader, task, monkeypatch)) <= 1
        assert [e.id for e in reader.find("task", release="1.0.0")] == [task]
        if reader._ino is not None:
            assert len(reader._ino._wds) == watches


def _many(path: Path, releases: int) -> None:
    with GitRefsStore(path) as store:
        for i in range(releases):
            task, ctx = new_entity_id(), new_entity_id()
            store.commit(
                [
                    Change(task, TaskRecord(title=f"Release v1.{i}.0 - Many", tags=("release", f"v1.{i}.0"))),
                    Change(ctx, ContextRecord(title=f"Release Plan: v1.{i}.0 - Many", content="x" * 2000)),
                    Change(new_entity_id(), LinkRecord(task, "task", ctx, "context", "references")),
                ]
            )


def test_a_restarted_store_keeps_a_few_hundred_bytes_per_entity(tmp_path: Path) -> None:
    _many(tmp_path, 300)  # 900 entities, their summaries cached by the first store
    gc.collect()
    tracemalloc.start()
    try:
        store = GitRefsStore(tmp_path)
        store.warm()
        gc.collect()
        held, _peak = tracemalloc.get_traced_memory()
        assert len(store.releases("task")) == 300
        store.close()
    finally:
        tracemalloc.stop()
    # Before issue 13's compaction a restarted store held ~1,700 bytes per entity (names of every ref
    # and sidecar, a set of sidecar numbers and a set per secondary key, the cache's rows read whole);
    # now ~600.
    assert held / 900 < 850, f"{held / 900:.0f} bytes per entity"
