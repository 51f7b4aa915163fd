"""A disk that fills up during a write (issue 14, item 1).

``ENOSPC`` is injected at the exact step of the ref transaction: while a ``<ref>.lock`` is being
filled, as a short write, or while the journal is written. The write must fail with a reason, leave no
lock and no ref behind, and every later write (in this process and after a restart) must work.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from helpers.args import plan_args
from helpers.faults import Fault, injected, is_lock, lock_files
from helpers.repo import engram_refs

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.tools.errors import StorageError
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.service import ReleasePlanner

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(60)]


def _plan(name: str, version: str = "5.0.0") -> ReleasePlanSpec:
    return ReleasePlanSpec.model_validate(plan_args(version, name))


def _stored_name(store: GitRefsStore, version: str = "5.0.0") -> str:
    (plan,) = store.find("context", release=version, kind="release_plan")
    return str((plan.planner_metadata or {})["spec"]["name"])


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(is_lock, errno.ENOSPC, nth=0), id="first-lock"),
        pytest.param(Fault(is_lock, errno.ENOSPC, nth=2), id="a-later-lock"),
        pytest.param(Fault(is_lock, errno.ENOSPC, nth=1, short=True), id="short-write"),
        pytest.param(Fault(lambda p: p.endswith(".journal"), errno.ENOSPC, nth=0, short=True), id="journal"),
    ],
)
def test_a_full_disk_during_a_write_leaves_no_lock_and_the_release_stays_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: Fault
) -> None:
    workspace = tmp_path / "ws"
    with GitRefsStore(workspace) as store:
        planner = ReleasePlanner(store)
        planner.create_release_plan(_plan("before"))
        before = engram_refs(workspace)

        with injected(monkeypatch, fault), pytest.raises(StorageError) as refused:
            planner.create_release_plan(_plan("while the disk is full"))
        assert fault.fired == 1

        assert lock_files(workspace / ".git") == []
        assert engram_refs(workspace) == before
        assert _stored_name(store) == "before"
        message = str(refused.value)
        assert "disk holding the workspace is full" in message
        assert "nothing was stored" in message
        assert refused.value.next_step and "free space" in refused.value.next_step

        # Space is back: the same release takes the next write at once, in this process...
        planner.create_release_plan(_plan("after"))
        assert _stored_name(store) == "after"

    # ... and after a restart.
    with GitRefsStore(workspace) as store:
        ReleasePlanner(store).create_release_plan(_plan("after a restart"))
        assert _stored_name(store) == "after a restart"
    assert lock_files(workspace / ".git") == []
