"""The repository validator finds each kind of damage it claims to, and nothing in a clean workspace."""

from __future__ import annotations

import json

import pytest
from interop_helpers import FakeClock, Workspace, engram_blob

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.validate import validate_repository

C = "22222222-2222-4222-8222-222222222222"
R = "33333333-3333-4333-8333-333333333333"
L = "44444444-4444-4444-8444-444444444444"
TS = "2026-03-02T09:15:00.120000000Z"
CONTEXT = {
    "agent": "default",
    "citation_count": 0,
    "content": "c",
    "created_at": TS,
    "decay_weight": 1.0,
    "id": C,
    "relevance": "high",
    "source": "ops",
    "source_id": None,
    "title": "Deploy window",
    "updated_at": TS,
}
REASONING = {
    "agent": "default",
    "conclusion": "",
    "confidence": 0.5,
    "created_at": TS,
    "id": R,
    "prov_attributed_to": "",
    "steps": [],
    "task_id": "t1",
    "title": "Why",
}
RELATIONSHIP = {
    "active": True,
    "agent": "default",
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
    "source_id": "a",
    "source_type": "task",
    "strength": "Medium",
    "target_id": "b",
    "target_type": "context",
    "timestamp": TS,
}


@pytest.fixture
def ws(workspace: Workspace, clock: FakeClock) -> Workspace:
    GitRefsStore(workspace.path, clock=clock).close()
    return workspace


def test_a_workspace_of_engram_written_entities_is_valid(ws: Workspace) -> None:
    ws.put_entity("context", C, engram_blob("context", C, CONTEXT))
    ws.put_entity("reasoning", R, engram_blob("reasoning", R, REASONING), versions=3)
    ws.put_entity("relationship", L, engram_blob("relationship", L, RELATIONSHIP))
    assert validate_repository(ws.path) == []


@pytest.mark.parametrize(
    ("entity_type", "entity_id", "data", "problem"),
    [
        (
            "context",
            C,
            {**CONTEXT, "relevance": "High"},
            "data.relevance must be low | medium | high | critical",
        ),
        ("context", C, {**CONTEXT, "title": ""}, "data.title must be a string"),
        (
            "context",
            C,
            {k: v for k, v in CONTEXT.items() if k != "updated_at"},
            "data.updated_at is required",
        ),
        ("context", C, {**CONTEXT, "created_at": "2026-03-02 09:15"}, "data.created_at must be an RFC3339"),
        ("context", C, {**CONTEXT, "tags": []}, "data.tags must be omitted when empty"),
        ("context", C, {**CONTEXT, "id": R}, "data.id"),
        ("context", C, {"data": CONTEXT}, "nested in another 'data' object"),
        (
            "reasoning",
            R,
            {**REASONING, "updated_at": TS},
            "data.updated_at does not exist on Engram reasoning",
        ),
        ("reasoning", R, {**REASONING, "confidence": 1.5}, "data.confidence must be a number in [0, 1]"),
        ("reasoning", R, {k: v for k, v in REASONING.items() if k != "steps"}, "data.steps is required"),
        (
            "relationship",
            L,
            {**RELATIONSHIP, "relationship_type": "references"},
            "data.relationship_type must be",
        ),
        ("relationship", L, {**RELATIONSHIP, "direction": "unidirectional"}, "data.direction must be"),
        ("relationship", L, {**RELATIONSHIP, "constraints": {}}, "data.constraints must be"),
        ("relationship", L, {**RELATIONSHIP, "target_id": "a"}, "source_id equals target_id"),
        (
            "relationship",
            L,
            {k: v for k, v in RELATIONSHIP.items() if k != "metadata"},
            "data.metadata is required",
        ),
    ],
)
def test_each_field_rule_of_the_format_is_enforced(
    ws: Workspace, entity_type: str, entity_id: str, data: dict, problem: str
) -> None:
    ws.put_entity(entity_type, entity_id, engram_blob(entity_type, entity_id, data, timestamp=TS))
    problems = validate_repository(ws.path)
    assert any(p.startswith(f"refs/engram/{entity_type}/{entity_id}: ") and problem in p for p in problems), (
        problems
    )


def test_envelope_damage_is_reported(ws: Workspace) -> None:
    env = json.loads(engram_blob("context", C, CONTEXT, timestamp=TS))
    ws.put_entity(
        "context", C, json.dumps({**env, "content_hash": "0" * 64, "size_bytes": 1}, indent=2).encode()
    )
    ws.put_entity("reasoning", R, b"{nope")
    ws.put(f"refs/engram/relationship/{L}", engram_blob("relationship", L, RELATIONSHIP, timestamp=TS))
    size = len(json.dumps(CONTEXT, sort_keys=True, separators=(",", ":")))

    problems = validate_repository(ws.path)

    assert f"refs/engram/context/{C}: content_hash is not the SHA-256 of the compact sorted data" in problems
    assert f"refs/engram/context/{C}: size_bytes is 1, the compact data is {size} bytes" in problems
    assert any(p.startswith(f"refs/engram/reasoning/{R}: invalid JSON") for p in problems)
    assert (
        f"refs/engram/relationship/{L}: has no version sidecar (Engram writes v1 on the first store)"
        in problems
    )
    assert len(problems) == 4


def test_a_commit_where_a_blob_belongs_is_reported(ws: Workspace) -> None:
    ws.git("update-ref", f"refs/engram/context/{C}", "HEAD")
    assert f"refs/engram/context/{C}: points at a commit, not a blob" in validate_repository(ws.path)


def test_key_order_and_indent_are_checked_only_in_strict_layout(ws: Workspace) -> None:
    alphabetical = tuple(sorted(json.loads(engram_blob("context", C, CONTEXT))))
    ws.put_entity("context", C, engram_blob("context", C, CONTEXT, timestamp=TS, order=alphabetical))
    assert validate_repository(ws.path, strict_layout=False) == []
    assert validate_repository(ws.path) == [
        f"refs/engram/context/{C}: the envelope is not in Engram's layout "
        "(key order, 2-space indent, no trailing newline)"
    ]


def test_sidecar_gaps_and_mismatches_are_reported(ws: Workspace) -> None:
    ws.put_entity("context", C, engram_blob("context", C, CONTEXT, timestamp=TS), versions=1)
    ws.git(
        "update-ref",
        f"refs/engram/context/v3/{C}",
        ws.git("rev-parse", f"refs/engram/context/v1/{C}").strip(),
    )
    problems = validate_repository(ws.path)
    assert f"refs/engram/context/v3/{C}: version 1 does not match v3 in the ref name" in problems
    assert f"refs/engram/context/v*/{C}: version sidecars [1, 3] are not 1..3" in problems


def test_a_missing_workspace_ref_and_leftovers_of_interrupted_writes_are_reported(ws: Workspace) -> None:
    ws.git("update-ref", "-d", "refs/engram/config/workspace")
    (ws.path / ".git" / "refs" / "engram" / "context").mkdir(parents=True)
    (ws.path / ".git" / "refs" / "engram" / "context" / f"{C}.lock").write_text("")
    journal = ws.path / ".git" / "engram-release-planner" / "journal"
    journal.mkdir(parents=True, exist_ok=True)
    (journal / "1-a.journal").write_text('{"updates": []}\n')
    (journal / "2-b.journal").write_text("")  # an idle store's journal: not a problem
    assert validate_repository(ws.path) == [
        "refs/engram/config/workspace: missing",
        f"refs/engram/context/{C}.lock: stale lock file",
        "engram-release-planner/journal/1-a.journal: unfinished write (journal not recovered)",
    ]
