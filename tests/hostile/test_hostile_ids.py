"""Ids that try to leave ``refs/engram/`` (path traversal, other refs, git revision syntax, control
characters, oversize, uppercase) are refused before any ref name is built from them, with the
parameter named, and the repository's refs and files stay exactly as they were."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.args import plan_args
from helpers.checks import is_unhandled, structured, text_of
from helpers.repo import all_refs
from hostile_session import Session, mcp_session

from release_planner.server.engram.gitrefs import JOURNAL_DIR, GitRefsStore
from release_planner.server.engram.validate import validate_repository

SOME_UUID = "0b3c5d7e-1f2a-4b6c-8d9e-0a1b2c3d4e5f"

HOSTILE_IDS = {
    "dot-dot-slash": "../",
    "traversal": "../../../../etc/passwd",
    "traversal-in-uuid": f"{SOME_UUID[:8]}/../../heads/main",
    "branch-ref": "refs/heads/main",
    "engram-ref": f"refs/engram/task/{SOME_UUID}",
    "dot-dot": "..",
    "newline": "0b3c\n5d7e",
    "nul": "0b3c\x005d7e",
    "very-long": "a" * 5_000,
    "uppercase-uuid": SOME_UUID.upper(),
    "lock-suffix": "0b3c5d7e.lock",
    "head": "HEAD",
    "reflog-syntax": "@{-1}",
    "glob": "*",
    "option-like": "--all",
    "space": "0b3c 5d7e",
    "backslash": "..\\..\\x",
    "percent-encoded": "%2e%2e%2f",
    "unicode-dots": "\u2024\u2024/x",
}


def _git_files(workspace: Path) -> set[str]:
    """Everything under .git except object storage and this store's own (live, empty) journal."""
    root = workspace / ".git"
    found = set()
    for dirpath, _dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == "objects" or rel.startswith("objects" + os.sep) or rel == JOURNAL_DIR:
            continue
        found |= {os.path.join(rel, f) for f in files}
    return found


@pytest.fixture(scope="module")
def git_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Path]]:
    workspace = tmp_path_factory.mktemp("hostile-ids") / "ws"
    store = GitRefsStore(workspace)
    try:
        with mcp_session("legacy", store=store) as session:
            yield session, workspace
    finally:
        store.close()


def _refused_without_trace(session: Session, workspace: Path, tool: str, args: dict[str, Any]) -> str:
    refs, files = all_refs(workspace), _git_files(workspace)
    result = session.call(tool, args)
    text = text_of(result)
    assert result.is_error, f"accepted: {text[:300]}"
    assert not is_unhandled(result), text
    assert all_refs(workspace) == refs
    assert _git_files(workspace) == files
    return text


def _link(target_id: str, target_type: str = "task") -> dict[str, Any]:
    return {"version": "2.5.0", "links": [{"target_id": target_id, "target_type": target_type}]}


@pytest.mark.parametrize("label", sorted(HOSTILE_IDS))
def test_a_hostile_task_id_is_refused_and_changes_nothing(
    git_session: tuple[Session, Path], label: str
) -> None:
    session, workspace = git_session
    args = {**plan_args("9.8.0", "hostile"), "task_id": HOSTILE_IDS[label]}
    _refused_without_trace(session, workspace, "create_release_plan", args)
    assert "9.8.0" not in {
        r["release"] for r in structured(session.call("list_release_plans", {}))["releases"]
    }


@pytest.mark.parametrize("target_type", ["task", "context"])
@pytest.mark.parametrize("label", sorted(HOSTILE_IDS))
def test_a_hostile_link_target_is_refused_and_changes_nothing(
    git_session: tuple[Session, Path], label: str, target_type: str
) -> None:
    session, workspace = git_session
    _refused_without_trace(
        session, workspace, "link_release_entities", _link(HOSTILE_IDS[label], target_type)
    )


@pytest.mark.parametrize(
    "label",
    [pytest.param(k) for k in sorted(HOSTILE_IDS)],
)
def test_the_refusal_of_a_hostile_task_id_names_task_id(
    git_session: tuple[Session, Path], label: str
) -> None:
    session, _workspace = git_session
    result = session.call(
        "create_release_plan", {**plan_args("9.8.0", "hostile"), "task_id": HOSTILE_IDS[label]}
    )
    assert result.is_error and "task_id" in text_of(result), text_of(result)


@pytest.mark.parametrize(
    "label",
    [pytest.param(k) for k in sorted(HOSTILE_IDS)],
)
def test_the_refusal_of_a_hostile_link_target_names_the_link(
    git_session: tuple[Session, Path], label: str
) -> None:
    session, _workspace = git_session
    result = session.call("link_release_entities", _link(HOSTILE_IDS[label]))
    text = text_of(result)
    assert result.is_error and "links[0].target_id" in text, text


def test_an_uppercase_id_of_a_stored_task_links_to_that_task_and_makes_no_uppercase_ref(
    git_session: tuple[Session, Path],
) -> None:
    session, workspace = git_session
    v3_task = session.seeded["design_migration_path"]["task_id"]
    result = session.call("link_release_entities", _link(v3_task.upper()))
    if not result.is_error:  # accepted as the same id, the way engram's short ids are case-blind
        (created,) = structured(result)["created"]
        assert created["target_id"] == v3_task
    names = set(all_refs(workspace))
    assert all(name == name.lower() or not name.startswith("refs/engram/") for name in names)
    assert validate_repository(workspace) == []


def test_the_task_of_another_release_is_not_taken_over() -> None:
    with mcp_session("auto") as session:
        v3_task = session.seeded["design_migration_path"]["task_id"]
        result = session.call("create_release_plan", {**plan_args("9.9.0", "takeover"), "task_id": v3_task})
        releases = {
            r["release"]: r["task_id"] for r in structured(session.call("list_release_plans", {}))["releases"]
        }
        assert releases.get("3.0.0") == v3_task
        assert result.is_error and "task_id" in text_of(result)
