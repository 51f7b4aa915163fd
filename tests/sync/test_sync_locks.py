"""Sync meets a lock file left on a ref it must move: an old empty one is a crashed writer's and is
timed out, as the server's own writes do; a filled one is named with its fix, never removed. And a
disk that fills up while sync moves this clone's refs is named like a write's, not a traceback."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest
from helpers.faults import Fault, injected, is_lock
from sync_helpers import Member, Team, refs

from release_planner.server.engram.sync import sync
from release_planner.tools.errors import StorageError

AN_HOUR_AGO = time.time() - 3600


def _teammates_edit_waiting_behind_a_lock(tmp_path: Path) -> tuple[Path, Path, str]:
    """Alice's clone, whose plan ref has a lock on it, and a remote holding Bob's newer edit of it."""
    team = Team(tmp_path)
    alice = team.founder("alice")
    member = Member(alice, "alice-client")
    member.plan()
    member.close()
    sync(alice)
    bob_path = team.clone("bob")
    sync(bob_path)
    bob = Member(bob_path, "bob-client")
    plan = bob.plan_entity()
    bob.plan(expected_revision=plan.revision, name="Bob's edit")
    bob.close()
    sync(bob_path)
    ref = f"refs/engram/{plan.entity_type}/{plan.entity_id}"
    return alice, alice / ".git" / (ref + ".lock"), ref


def test_an_old_empty_lock_left_by_a_crashed_writer_does_not_stop_sync(tmp_path: Path) -> None:
    alice, lock, ref = _teammates_edit_waiting_behind_a_lock(tmp_path)
    lock.touch()
    os.utime(lock, (AN_HOUR_AGO, AN_HOUR_AGO))

    report = sync(alice)

    assert report.conflicts == [] and report.taken
    assert not lock.exists()
    assert refs(alice)[ref] == refs(tmp_path / "remote.git")[ref]


def test_a_lock_holding_a_value_is_named_with_its_fix_and_kept(tmp_path: Path) -> None:
    alice, lock, ref = _teammates_edit_waiting_behind_a_lock(tmp_path)
    lock.write_text("0" * 40 + "\n")
    before = refs(alice)[ref]

    with pytest.raises(StorageError) as refused:
        sync(alice)

    assert str(lock) in refused.value.message
    assert f"rm {lock}" in (refused.value.next_step or "")
    assert lock.exists() and refs(alice)[ref] == before


def test_a_full_disk_while_sync_moves_this_clones_refs_is_named_and_the_next_sync_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, lock, ref = _teammates_edit_waiting_behind_a_lock(tmp_path)
    before = refs(alice)[ref]

    with injected(monkeypatch, Fault(is_lock, errno.ENOSPC)) as fault, pytest.raises(StorageError) as full:
        sync(alice)

    assert fault.fired == 1
    assert "disk holding the workspace is full" in full.value.message
    assert "nothing was stored" in full.value.message
    assert not lock.exists() and refs(alice)[ref] == before
    assert sync(alice).taken and refs(alice)[ref] == refs(tmp_path / "remote.git")[ref]
