"""What the git store writes is what real Engram writes and reads (reference/engram-format.md §1-§2)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from interop_helpers import FakeClock, Workspace, engram_blob

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.memory import MemoryStore
from release_planner.server.engram.validate import validate_repository
from release_planner.tools.ports import (
    Change,
    ContextRecord,
    LinkRecord,
    ReasoningRecord,
    TaskRecord,
)

T = "11111111-1111-4111-8111-111111111111"
C = "22222222-2222-4222-8222-222222222222"
R = "33333333-3333-4333-8333-333333333333"
L = "44444444-4444-4444-8444-444444444444"
L2 = "55555555-5555-4555-8555-555555555555"
NOW = "2026-03-02T09:15:00.001000000Z"
META = {"release_planner": {"schema": 1, "kind": "release_plan", "release": "2.5.0", "spec": {"b": [1, 2]}}}

RELEASE = [
    Change(T, TaskRecord(title="Release v2.5.0 - Enterprise", tags=("release", "v2.5.0")), agent="planner"),
    Change(
        C,
        ContextRecord(title="Release Plan: v2.5.0 - Enterprise", content="## Plan ✓", metadata=META),
        agent="planner",
    ),
    Change(
        R,
        ReasoningRecord(
            title="Rollback Strategy: v2.5.0", task_id=T, conclusion="roll back", confidence=0.75
        ),
        agent="planner",
    ),
    Change(L, LinkRecord(T, "task", C, "context", "references"), agent="planner"),
    Change(L2, LinkRecord(T, "task", R, "reasoning", "documents", description="why"), agent="planner"),
]

EXPECTED_DATA = {
    T: {
        "agent": "planner",
        "description": "",
        "end_time": None,
        "id": T,
        "priority": "medium",
        "start_time": NOW,
        "status": "todo",
        "tags": ["release", "v2.5.0"],
        "title": "Release v2.5.0 - Enterprise",
    },
    C: {
        "agent": "planner",
        "citation_count": 0,
        "content": "## Plan ✓",
        "created_at": NOW,
        "decay_weight": 1.0,
        "id": C,
        "metadata": META,
        "relevance": "high",
        "source": "release-planning",
        "source_id": None,
        "title": "Release Plan: v2.5.0 - Enterprise",
        "updated_at": NOW,
    },
    R: {
        "agent": "planner",
        "conclusion": "roll back",
        "confidence": 0.75,
        "created_at": NOW,
        "id": R,
        "prov_attributed_to": "",
        "steps": [],
        "task_id": T,
        "title": "Rollback Strategy: v2.5.0",
    },
    L: {
        "active": True,
        "agent": "planner",
        "constraints": {
            "allow_cycles": True,
            "max_inbound": None,
            "max_outbound": None,
            "source_types": None,
            "target_types": None,
        },
        "description": None,
        "direction": "Unidirectional",
        "id": L,
        "metadata": {},
        "relationship_type": "References",
        "source_id": T,
        "source_type": "task",
        "strength": "Medium",
        "target_id": C,
        "target_type": "context",
        "timestamp": NOW,
    },
}
TYPES = {T: "task", C: "context", R: "reasoning", L: "relationship", L2: "relationship"}


def envelope(workspace: Workspace, entity_id: str) -> tuple[bytes, dict]:
    raw = workspace.cat(f"refs/engram/{TYPES[entity_id]}/{entity_id}")
    return raw, json.loads(raw)


def test_every_blob_of_a_whole_release_and_its_update_passes_the_validator(
    store: GitRefsStore, workspace: Workspace
) -> None:
    store.commit(RELEASE)
    store.commit(
        [
            Change(
                C, ContextRecord(title="Release Plan: v2.5.0 - Enterprise", content="v2"), expected_revision=1
            )
        ]
    )
    assert validate_repository(workspace.path) == []
    assert workspace.git("cat-file", "-t", f"refs/engram/context/{C}").strip() == "blob"


def test_each_type_stores_exactly_the_fields_engram_needs(store: GitRefsStore, workspace: Workspace) -> None:
    store.commit(RELEASE)
    for entity_id, expected in EXPECTED_DATA.items():
        assert envelope(workspace, entity_id)[1]["data"] == expected
    custom = envelope(workspace, L2)[1]["data"]
    assert (custom["relationship_type"], custom["description"]) == ({"Custom": "documents"}, "why")


def test_the_envelope_is_pretty_json_in_memory_entity_order_with_engrams_hash(
    store: GitRefsStore, workspace: Workspace
) -> None:
    store.commit(RELEASE)
    for entity_id, entity_type in TYPES.items():
        raw, env = envelope(workspace, entity_id)
        assert list(env) == [
            "id",
            "entity_type",
            "agent",
            "timestamp",
            "data",
            "content_hash",
            "size_bytes",
            "tags",
            "references",
            "metadata",
        ]
        assert raw == json.dumps(env, indent=2, ensure_ascii=False).encode()
        assert not raw.endswith(b"\n")
        canon = json.dumps(env["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert env["content_hash"] == hashlib.sha256(canon).hexdigest()
        assert env["size_bytes"] == len(canon)
        assert (env["id"], env["entity_type"], env["agent"]) == (entity_id, entity_type, "planner")
        assert (env["timestamp"], env["tags"], env["references"], env["metadata"]) == (NOW, [], [], {})
        assert list(env["data"]) == sorted(env["data"])
    assert "## Plan ✓".encode() in envelope(workspace, C)[0]  # raw UTF-8, as serde writes it


def test_each_store_adds_the_next_version_sidecar(store: GitRefsStore, workspace: Workspace) -> None:
    store.commit(RELEASE[:2])
    store.commit(
        [
            Change(
                C,
                ContextRecord(title="Release Plan: v2.5.0", content="v2"),
                agent="reviewer",
                expected_revision=1,
            )
        ]
    )
    pid = workspace.project_id()
    assert workspace.refs("refs/engram/context/") == [
        f"refs/engram/context/{C}",
        f"refs/engram/context/v1/{C}",
        f"refs/engram/context/v2/{C}",
    ]
    assert (
        workspace.cat(f"refs/engram/context/v1/{C}")
        == (
            '{"agent":"planner","created_at":"2026-03-02T09:15:00.001000000+00:00","entity_type":"context",'
            f'"project_id":"{pid}","uuid":"{C}","version":1}}'
        ).encode()
    )
    assert json.loads(workspace.cat(f"refs/engram/context/v2/{C}")) == {
        "agent": "reviewer",
        "created_at": "2026-03-02T09:15:00.002000000+00:00",
        "entity_type": "context",
        "project_id": pid,
        "uuid": C,
        "version": 2,
    }


def test_an_update_overlays_only_owned_fields_on_what_engram_stored(
    store: GitRefsStore, workspace: Workspace
) -> None:
    stored = {
        "agent": "default",
        "citation_count": 3,
        "content": "old",
        "created_at": "2026-01-01T00:00:00Z",
        "decay_weight": 0.5,
        "id": C,
        "relevance": "low",
        "source": "cli",
        "source_id": "src-1",
        "title": "Old",
        "updated_at": "2026-01-01T00:00:00Z",
        "last_accessed_at": "2026-02-01T00:00:00Z",
        "newer_engram_field": {"x": 1},
        "metadata": {"engram": True},
    }
    workspace.put_entity(
        "context",
        C,
        engram_blob("context", C, {"data": stored}, timestamp="2026-01-01T00:00:00Z"),
        versions=2,
    )
    new = ContextRecord(
        title="Release Plan: v2.5.0",
        content="new",
        source="release-planning",
        relevance="high",
        tags=("release",),
        metadata=META,
    )
    updated = store.commit([Change(C, new, agent="planner", expected_revision=2)])[0]

    data = envelope(workspace, C)[1]["data"]
    assert data == {
        **stored,
        "title": "Release Plan: v2.5.0",
        "content": "new",
        "source": "release-planning",
        "relevance": "high",
        "tags": ["release"],
        "metadata": {"engram": True, **META},
        "updated_at": "2026-03-02T09:15:00.001000000Z",
    }
    assert (updated.revision, updated.agent, updated.created_at) == (3, "default", "2026-01-01T00:00:00Z")
    assert validate_repository(workspace.path) == []


def test_the_workspace_ref_carries_the_sha512_of_the_root_commit(
    store: GitRefsStore, workspace: Workspace
) -> None:
    root = workspace.git("rev-list", "--max-parents=0", "HEAD").strip()
    assert (
        workspace.cat("refs/engram/config/workspace")
        == ('{"name":".","project_id":"' + hashlib.sha512(root.encode("ascii")).hexdigest() + '"}').encode()
    )


def test_an_unborn_head_gets_engrams_empty_init_commit_on_main(
    store: GitRefsStore, workspace: Workspace
) -> None:
    assert workspace.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    commit = workspace.git("cat-file", "-p", "refs/heads/main")
    header, message = commit.split("\n\n", 1)
    assert message == "engram: init workspace\n"
    assert "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904" in header and "parent" not in header
    assert "author engram <engram@localhost>" in header and "committer engram <engram@localhost>" in header


def test_existing_history_is_left_alone_and_names_the_project(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "repo")
    ws.path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(ws.path)], check=True)
    for n in range(2):
        (ws.path / "f").write_text(str(n))
        ws.git("add", "f")
        ws.git("-c", "user.name=a", "-c", "user.email=a@x", "commit", "-q", "-m", f"c{n}")
    root = ws.git("rev-list", "--max-parents=0", "HEAD").strip()
    head = ws.git("rev-parse", "HEAD")

    GitRefsStore(ws.path).close()

    assert (
        ws.git("rev-parse", "HEAD") == head and ws.git("symbolic-ref", "HEAD").strip() == "refs/heads/trunk"
    )
    assert ws.project_id() == hashlib.sha512(root.encode()).hexdigest()
    assert validate_repository(ws.path) == []


def test_an_existing_workspace_ref_is_kept_and_used_for_sidecars(
    workspace: Workspace, clock: FakeClock
) -> None:
    workspace.path.mkdir()
    workspace.git("init", "-q")
    theirs = b'{"name":"/home/dev/project","project_id":"' + b"ab" * 64 + b'"}'
    workspace.put("refs/engram/config/workspace", theirs)

    with GitRefsStore(workspace.path, clock=clock) as store:
        store.commit(RELEASE[:1])

    assert workspace.cat("refs/engram/config/workspace") == theirs
    assert json.loads(workspace.cat(f"refs/engram/task/v1/{T}"))["project_id"] == "ab" * 64
    head = subprocess.run(
        ["git", "-C", str(workspace.path), "rev-parse", "--verify", "-q", "HEAD"], check=False
    )
    assert head.returncode != 0  # like engram: no init commit when the workspace ref exists


def test_the_memory_store_writes_byte_identical_entities(store: GitRefsStore, workspace: Workspace) -> None:
    memory = MemoryStore(clock=FakeClock())
    assert memory.commit(RELEASE) == store.commit(RELEASE)
    for entity_id, entity_type in TYPES.items():
        assert memory.blob(entity_type, entity_id) == envelope(workspace, entity_id)[0]  # type: ignore[arg-type]


def test_an_update_fills_in_fields_engram_requires_that_a_tolerant_read_let_pass(
    store: GitRefsStore, workspace: Workspace
) -> None:
    sparse = {
        "agent": "default", "id": L, "source_id": T, "source_type": "task", "target_id": C,
        "target_type": "context", "relationship_type": "References", "direction": "Unidirectional",
        "strength": {"Custom": 0.3}, "timestamp": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    workspace.put_entity(
        "relationship", L, engram_blob("relationship", L, sparse, timestamp="2026-01-01T00:00:00Z")
    )
    link = store.get("relationship", L)
    assert link is not None and link.record.strength == "weak"  # type: ignore[union-attr]

    store.commit(
        [Change(L, LinkRecord(T, "task", C, "context", "references", strength="weak"), expected_revision=1)]
    )

    data = envelope(workspace, L)[1]["data"]
    assert data["strength"] == {"Custom": 0.3}  # engram's own spelling survives an unchanged value
    assert (data["constraints"], data["metadata"], data["active"], data["description"]) == (
        EXPECTED_DATA[L]["constraints"], {}, True, None,
    )  # fmt: skip
    assert validate_repository(workspace.path) == []
