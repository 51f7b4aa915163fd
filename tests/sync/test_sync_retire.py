"""Sync when one clone retires what another edits: Engram's delete removes the entity ref and keeps the
version sidecars, so a retirement leaves no higher revision behind, and an edit stored by a clone that
never saw the retirement would otherwise look like a newer revision and silently undo it (or be
silently undone). Each is a reported conflict; a release planned again after the retirement was
synced is not."""

from __future__ import annotations

import pytest
from sync_helpers import VERSION, Member, Team, refs

from release_planner.server.engram.sync import sync


def _plan_ref(member: Member) -> tuple[str, str]:
    plan = member.plan_entity()
    return plan.entity_id, f"refs/engram/{plan.entity_type}/{plan.entity_id}"


@pytest.mark.parametrize("first", ["retirement", "edit"])
def test_a_retirement_and_an_edit_made_without_seeing_it_conflict_whichever_syncs_first(
    team: Team, alice: Member, bob: Member, first: str
) -> None:
    plan_id, plan_ref = _plan_ref(alice)
    alice.planner.retire_release_artifact(VERSION, agent=alice.agent)
    bob.plan(expected_revision=bob.plan_entity().revision, name="Bob's edit")

    if first == "retirement":
        sync(alice.path)
        report = sync(bob.path)
        assert plan_ref not in refs(team.remote)  # Bob's edit did not resurrect the retired plan
        assert "Bob's edit" in str(bob.view().name)
    else:
        sync(bob.path)
        report = sync(alice.path)
        assert plan_ref not in refs(alice.path)  # Alice's retirement was not undone
        assert plan_ref in refs(team.remote)

    conflict = next(c for c in report.conflicts if c.entity_id == plan_id)
    assert "retired" in conflict.reason


def test_prefer_the_retiring_side_retires_it_everywhere(team: Team, alice: Member, bob: Member) -> None:
    _plan_id, plan_ref = _plan_ref(alice)
    alice.planner.retire_release_artifact(VERSION, agent=alice.agent)
    bob.plan(expected_revision=bob.plan_entity().revision, name="Bob's edit")
    sync(bob.path)
    assert sync(alice.path).conflicts

    report = sync(alice.path, prefer="ours")

    assert report.conflicts == []
    assert plan_ref not in refs(alice.path) and plan_ref not in refs(team.remote)
    assert sync(bob.path).conflicts == []
    assert plan_ref not in refs(bob.path)
    assert sync(alice.path).conflicts == [] and sync(bob.path).conflicts == []


def test_a_release_planned_again_after_its_retirement_was_synced_travels_without_conflict(
    team: Team, alice: Member, bob: Member
) -> None:
    _plan_id, plan_ref = _plan_ref(alice)
    alice.planner.retire_release_artifact(VERSION, agent=alice.agent)
    assert sync(alice.path).conflicts == []
    assert sync(bob.path).conflicts == []
    bob.reopen()
    bob.plan(name="Planned again")

    assert sync(bob.path).conflicts == []
    report = sync(alice.path)

    assert report.conflicts == []
    alice.reopen()
    assert plan_ref in refs(alice.path) and alice.view().name == "Planned again"
