"""Two writers creating the same artifact of one release at once, with the interleaving chosen.

Writer A loads the release, then, just before A commits, writer B (another store on the same
repository, as another process would be) stores the same artifact from scratch. Nothing may be lost
or corrupted whatever the outcome; and the release should still have one artifact of each kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers.args import plan_args, rollback_args
from helpers.checks import release_integrity

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.validate import validate_repository
from release_planner.tools.errors import Conflict
from release_planner.tools.ports import Change, Store, StoredEntity
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.results import WriteResult
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = pytest.mark.reliability

VERSION = "4.2.0"


class InterleavedStore:
    """A store that lets someone else write once, right before its first commit."""

    def __init__(self, inner: Store, before_commit: Callable[[], None]) -> None:
        self._inner = inner
        self._before: Callable[[], None] | None = before_commit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit(self, changes: Sequence[Change]) -> list[StoredEntity]:
        if self._before is not None:
            before, self._before = self._before, None
            before()
        return self._inner.commit(changes)


def _plan(name: str) -> ReleasePlanSpec:
    return ReleasePlanSpec.model_validate(plan_args(VERSION, name))


def _rollback(marker: str) -> RollbackSpec:
    return RollbackSpec.model_validate(rollback_args(VERSION, f"written by {marker}"))


WRITES: dict[str, tuple[str, str, Callable[[ReleasePlanner, str], WriteResult]]] = {
    # tool: (entity type, artifact kind, the call)
    "create_release_plan": ("context", "release_plan", lambda p, who: p.create_release_plan(_plan(who))),
    "design_rollback": ("reasoning", "rollback_strategy", lambda p, who: p.design_rollback(_rollback(who))),
}


def _race(workspace: Path, tool: str) -> tuple[WriteResult | Conflict, WriteResult]:
    store_a, store_b = GitRefsStore(workspace), GitRefsStore(workspace)
    call = WRITES[tool][2]
    if tool != "create_release_plan":
        ReleasePlanner(store_a).create_release_plan(_plan("seed"))
    results: dict[str, WriteResult] = {}

    def b_writes() -> None:
        results["b"] = call(ReleasePlanner(store_b), "b")

    try:
        a: WriteResult | Conflict = call(ReleasePlanner(InterleavedStore(store_a, b_writes)), "a")
    except Conflict as exc:
        a = exc
    finally:
        store_a.close()
        store_b.close()
    return a, results["b"]


@pytest.mark.parametrize("tool", sorted(WRITES))
def test_racing_first_writes_of_one_artifact_keep_both_acknowledged_writes_and_a_valid_repository(
    tmp_path: Path, tool: str
) -> None:
    workspace = tmp_path / "ws"
    a, b = _race(workspace, tool)
    assert validate_repository(workspace) == []
    with GitRefsStore(workspace) as store:
        assert release_integrity(store) == []
        for result in (a, b):
            if isinstance(result, Conflict):
                assert result.field == "expected_revision"
                continue
            stored = store.get(result.artifact.entity_type, result.artifact.entity_id)  # type: ignore[arg-type]
            assert stored is not None and stored.revision >= result.revision


@pytest.mark.parametrize("tool", sorted(WRITES))
def test_racing_first_writes_of_one_artifact_leave_one_artifact_of_that_kind(
    tmp_path: Path, tool: str
) -> None:
    workspace = tmp_path / "ws"
    entity_type, kind, _call = WRITES[tool]
    a, b = _race(workspace, tool)
    with GitRefsStore(workspace) as store:
        assert len(store.find("task", release=VERSION, kind="release")) == 1
        (artifact,) = store.find(entity_type, release=VERSION, kind=kind)  # type: ignore[arg-type]
    # The second writer either lost with a conflict or was applied on top as the next revision.
    assert b.artifact.entity_id == artifact.id
    if not isinstance(a, Conflict):
        assert a.artifact.entity_id == artifact.id and a.revision == b.revision + 1
