"""Reading what engram and other writers leave in the repository: tolerant, never broken by one bad blob."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from interop_helpers import FakeClock, Workspace, engram_blob

from release_planner.server.engram import gitrefs
from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.refs import IN_Q_OVERFLOW
from release_planner.server.engram.validate import validate_repository
from release_planner.tools.errors import Conflict, StorageError
from release_planner.tools.ports import (
    Change,
    ContextRecord,
    LinkRecord,
    StoreProblem,
    TaskRecord,
    new_entity_id,
)

C = "22222222-2222-4222-8222-222222222222"
CONTEXT = {
    "agent": "default",
    "citation_count": 0,
    "content": "Deploys Tue 09:00 UTC",
    "created_at": "2026-01-10T09:00:00.000000001Z",
    "decay_weight": 1.0,
    "id": C,
    "relevance": "high",
    "source": "ops",
    "source_id": None,
    "title": "Deploy window",
    "updated_at": "2026-01-10T09:00:00.000000001Z",
}
EXPECTED = ContextRecord(
    title="Deploy window", content="Deploys Tue 09:00 UTC", source="ops", relevance="high"
)
ALPHABETICAL = (
    "agent",
    "content_hash",
    "data",
    "entity_type",
    "id",
    "metadata",
    "references",
    "size_bytes",
    "tags",
    "timestamp",
)


def opened(workspace: Workspace, clock: FakeClock) -> GitRefsStore:
    GitRefsStore(workspace.path, clock=clock).close()  # workspace ref + init commit, as engram would
    return GitRefsStore(workspace.path, clock=clock)


@pytest.mark.parametrize(
    ("data", "kwargs"),
    [
        pytest.param({"data": CONTEXT}, {}, id="double-nested data"),
        pytest.param({"data": {"data": CONTEXT}}, {}, id="triple-nested data"),
        pytest.param(CONTEXT, {"order": ALPHABETICAL}, id="alphabetical top-level keys"),
        pytest.param(CONTEXT, {"type_key": "type"}, id="type alias"),
        pytest.param(
            {**CONTEXT, "created_at": "2026-01-10T09:00:00+00:00"}, {}, id="+00:00 offset, 0 digits"
        ),
        pytest.param(
            {**CONTEXT, "created_at": "2026-01-10T11:00:00.123456789+02:00"}, {}, id="+02:00 offset"
        ),
        pytest.param({**CONTEXT, "future_field": [1, {"a": None}]}, {}, id="unknown field"),
        pytest.param(
            {k: v for k, v in CONTEXT.items() if k not in ("citation_count", "decay_weight", "source_id")},
            {},
            id="defaulted fields absent",
        ),
    ],
)
def test_engram_blobs_in_every_accepted_shape_are_read(
    workspace: Workspace, clock: FakeClock, data: dict, kwargs: dict
) -> None:
    with opened(workspace, clock) as store:
        workspace.put_entity("context", C, engram_blob("context", C, data, **kwargs), versions=2)
        entity = store.get("context", C)
    assert entity is not None
    assert (entity.record, entity.revision, entity.agent) == (EXPECTED, 2, "default")
    inner = data
    while set(inner) == {"data"}:
        inner = inner["data"]
    assert entity.created_at == inner["created_at"]


BAD: dict[str, bytes] = {
    "not JSON": b"{nope",
    "an array": b"[]",
    "missing agent": json.dumps(
        {"id": "X", "entity_type": "context", "timestamp": "2026-01-01T00:00:00Z", "data": CONTEXT}
    ).encode(),
    "non-object data": engram_blob("context", "X", "just text"),  # type: ignore[arg-type]
    "legacy entity wrapper": engram_blob("context", "X", {"entity": CONTEXT}),
    "bad relevance": engram_blob("context", "X", {**CONTEXT, "relevance": "urgent"}),
    "bad timestamp": engram_blob("context", "X", CONTEXT, timestamp="yesterday"),
    "id mismatch": engram_blob("context", "X", {**CONTEXT, "id": "00000000-0000-4000-8000-000000000000"}),
}


def test_a_malformed_blob_among_good_ones_is_skipped_reported_and_logged(
    workspace: Workspace, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with opened(workspace, clock) as store:
        good = store.commit(
            [Change(new_entity_id(), ContextRecord(title="Release Plan: v1.0.0", content="ok"))]
        )
        bad_ids = {}
        for reason, blob in BAD.items():
            entity_id = new_entity_id()
            bad_ids[entity_id] = reason
            workspace.put_entity("context", entity_id, blob.replace(b'"X"', f'"{entity_id}"'.encode()))
        with caplog.at_level(logging.WARNING, logger="release_planner.server.engram.gitrefs"):
            assert store.find("context") == good
            problems = store.problems()
        assert [p.ref for p in problems] == sorted(f"refs/engram/context/{i}" for i in bad_ids)
        assert all(p.reason for p in problems)
        legacy = next(p for p in problems if bad_ids[p.ref.rsplit("/", 1)[1]] == "legacy entity wrapper")
        assert "legacy" in legacy.reason
        assert len([r for r in caplog.records if "skipping" in r.message]) == len(BAD)
        assert store.get("context", next(iter(bad_ids))) is None

    with GitRefsStore(workspace.path) as fresh:  # the same on a cold start
        assert [p.ref for p in fresh.problems()] == [p.ref for p in problems]


def test_refs_that_are_not_entities_of_our_types_are_ignored(workspace: Workspace, clock: FakeClock) -> None:
    with opened(workspace, clock) as store:
        kid = new_entity_id()
        workspace.put_entity("knowledge", kid, engram_blob("knowledge", kid, {"id": kid, "garbage": True}))
        workspace.put(f"refs/engram/remote/origin/context/{C}", b"not even json")
        workspace.put("refs/engram/schema/abc", b"{}")
        workspace.put(f"refs/engram/context/v1/{C}", b"sidecar without entity")
        workspace.put("refs/engram/task/v0/x", b"")
        assert store.find("context") == [] and store.find("task") == []
        assert store.problems() == []
        assert store.get("context", C) is None


def test_a_ref_name_that_is_not_a_uuid_is_reported_not_served(workspace: Workspace, clock: FakeClock) -> None:
    with opened(workspace, clock) as store:
        workspace.put("refs/engram/task/entity-A", engram_blob("task", "entity-A", {"id": "entity-A"}))
        assert store.find("task") == []
        assert [p.ref for p in store.problems()] == ["refs/engram/task/entity-A"]


@pytest.mark.parametrize("refresh", ["inotify", "stat"])
def test_changes_made_behind_the_stores_back_are_seen_on_the_next_read(
    workspace: Workspace, clock: FakeClock, refresh: gitrefs.Refresh
) -> None:
    GitRefsStore(workspace.path, clock=clock).close()
    with GitRefsStore(workspace.path, clock=clock, refresh=refresh) as store:
        assert store.get("context", C) is None
        workspace.put_entity("context", C, engram_blob("context", C, CONTEXT))
        assert store.get("context", C).record == EXPECTED  # type: ignore[union-attr]

        workspace.put(f"refs/engram/context/{C}", engram_blob("context", C, {**CONTEXT, "title": "Moved"}))
        workspace.put(f"refs/engram/context/v2/{C}", b"{}")
        entity = store.get("context", C)
        assert (entity.title, entity.revision) == ("Moved", 2)  # type: ignore[union-attr]
        assert [e.id for e in store.find("context", tag="x")] == []

        with pytest.raises(Conflict):  # the store's own view moved on too: revision 1 is stale
            store.commit([Change(C, EXPECTED, expected_revision=1)])

        workspace.git("update-ref", "-d", f"refs/engram/context/{C}")
        assert store.get("context", C) is None
        workspace.git("update-ref", "-d", f"refs/engram/context/v2/{C}")
        workspace.put_entity("context", C, engram_blob("context", C, CONTEXT))
        assert store.get("context", C).revision == 1  # type: ignore[union-attr]


def test_a_lost_inotify_queue_falls_back_to_a_full_rescan(workspace: Workspace, clock: FakeClock) -> None:
    GitRefsStore(workspace.path, clock=clock).close()
    with GitRefsStore(workspace.path, clock=clock, refresh="inotify") as store:
        workspace.put_entity("context", C, engram_blob("context", C, CONTEXT))
        assert store._ino is not None
        store._ino.read()  # drop the real events: only an overflow notice remains
        store._ino.read = lambda: [(None, IN_Q_OVERFLOW, "")]  # type: ignore[method-assign]
        assert store.get("context", C).record == EXPECTED  # type: ignore[union-attr]


@pytest.mark.parametrize("refresh", ["inotify", "stat"])
def test_packed_refs_are_read_and_updated_like_loose_ones(
    workspace: Workspace, clock: FakeClock, refresh: gitrefs.Refresh
) -> None:
    with GitRefsStore(workspace.path, clock=clock, refresh=refresh) as store:
        task = new_entity_id()
        stored = store.commit(
            [
                Change(task, TaskRecord(title="Release v4.0.0")),
                Change(C, ContextRecord(title="Release Plan: v4.0.0", content="p")),
                Change(new_entity_id(), LinkRecord(task, "task", C, "context", "references")),
            ]
        )
        workspace.git("pack-refs", "--all", "--prune")
        assert not list((workspace.path / ".git" / "refs" / "engram").rglob(C))  # only packed now

        assert store.find("context", release="4.0.0") == [stored[1]]
        assert store.connected(task) == [task, C]
        with GitRefsStore(workspace.path, clock=clock, refresh=refresh) as cold:
            assert cold.find("context") == [stored[1]] and cold.links_from(task) == [stored[2]]

        updated = store.commit(
            [Change(C, ContextRecord(title="Release Plan: v4.0.0", content="q"), expected_revision=1)]
        )[0]
        assert (updated.revision, store.get("context", C)) == (2, updated)
        workspace.git("pack-refs", "--all", "--prune")
        assert store.get("context", C) == updated
    assert validate_repository(workspace.path) == []
    assert [r for r in workspace.refs("refs/engram/context/") if "/v" in r] == [
        f"refs/engram/context/v1/{C}",
        f"refs/engram/context/v2/{C}",
    ]


def test_a_directory_that_cannot_hold_a_repository_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError) as info:
        GitRefsStore(blocker / "workspace")
    assert info.value.field == "workspace"
    with pytest.raises(StorageError):
        GitRefsStore(tmp_path / "missing", create=False)


def test_a_non_repository_workspace_is_initialised_like_engram_does(tmp_path: Path) -> None:
    outer = Workspace(tmp_path)
    outer.git("init", "-q")
    inner = tmp_path / "sub" / "workspace"
    GitRefsStore(inner).close()
    assert (inner / ".git").is_dir()  # its own repository, even inside another one
    assert Workspace(inner).refs("refs/engram/config/") == ["refs/engram/config/workspace"]
    assert outer.refs() == []


def test_problems_are_store_problems(workspace: Workspace, clock: FakeClock) -> None:
    with opened(workspace, clock) as store:
        workspace.put(f"refs/engram/task/{C}", b"{}")
        assert store.problems() == [
            StoreProblem(f"refs/engram/task/{C}", "envelope field 'id' is missing or not a string")
        ]
