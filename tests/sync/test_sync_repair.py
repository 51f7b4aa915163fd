"""``repair`` in a clone that syncs with a team: it removes an entity ref whose content a prune (or a
tool without this store's checks) lost, which on its own looks exactly like a retirement. The next sync
must bring the team's copy back, never push the removal as a retirement that deletes the release
for everyone."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_helpers import Member, Team, git, refs

from release_planner.server.cli import main
from release_planner.server.engram.sync import sync


def _founded(team: Team) -> tuple[Member, Member]:
    alice = team.founder("alice")
    a = Member(alice, "alice-client")
    a.plan()
    sync(alice)
    bob = team.clone("bob")
    sync(bob)
    return a, Member(bob, "bob-client")


def _lose(where: Path, oid: str) -> None:
    """A loose object gone, as ``git prune --expire=now`` racing a write leaves it."""
    (where / ".git" / "objects" / oid[:2] / oid[2:]).unlink()


@pytest.mark.parametrize("lost", ["a-revision-fetched-from-the-team", "an-unpushed-revision"])
def test_content_lost_and_repaired_in_one_clone_comes_back_from_the_team_and_is_not_retired(
    tmp_path: Path, lost: str
) -> None:
    team = Team(tmp_path)
    alice, bob = _founded(team)
    plan = alice.plan_entity()
    ref = f"refs/engram/{plan.entity_type}/{plan.entity_id}"
    alice.plan(expected_revision=plan.revision, name="Alice's revision 2")
    if lost == "a-revision-fetched-from-the-team":
        sync(alice.path)
        sync(bob.path)  # Bob fetched revision 2 (its staging ref points at the same object)
        victim, team_name = bob, "Alice's revision 2"
    else:
        victim, team_name = alice, "Enterprise Features"  # revision 2 never left Alice's clone
    victim.close()
    _lose(victim.path, refs(victim.path)[ref])
    assert main(["repair", "--workspace", str(victim.path)]) == 0

    report = sync(victim.path)

    assert report.conflicts == []
    assert ref in refs(team.remote), "the repair travelled to the team as a retirement"
    victim.reopen()
    assert team_name in victim.view().name
    assert git(victim.path, "fsck", "--no-dangling") == ""  # every ref points at an object again
    other = bob if victim is alice else alice
    sync(other.path)
    assert ref in refs(other.path)
