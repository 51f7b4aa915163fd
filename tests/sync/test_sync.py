"""Team sync through a git remote: two clones and a bare repository, no network."""

from __future__ import annotations

import pytest
from sync_helpers import VERSION, Member, Team, blob, git, refs

from release_planner.server.cli import main
from release_planner.server.engram import sync as sync_module
from release_planner.server.engram.sync import sync
from release_planner.tools.errors import Conflict, StorageError


def test_a_clone_syncs_the_release_its_teammate_planned_under_the_same_project_id(
    alice: Member, bob: Member
) -> None:
    assert bob.view().release == VERSION
    assert bob.view().task_id == alice.view().task_id
    assert blob(bob.path, "refs/engram/config/workspace") == blob(alice.path, "refs/engram/config/workspace")


def test_an_edit_travels_without_force_and_carries_its_version_sidecars(
    team: Team, alice: Member, bob: Member
) -> None:
    before = bob.plan_entity().revision
    bob.plan(expected_revision=before, name="Enterprise Features, trimmed")
    report = sync(bob.path)
    assert report.conflicts == [] and report.pushed

    report = sync(alice.path)
    alice.reopen()
    assert report.conflicts == []
    assert alice.view().name == "Enterprise Features, trimmed"
    assert alice.plan_entity().revision == before + 1
    entity = alice.plan_entity()
    ref = f"refs/engram/{entity.entity_type}/v{before + 1}/{entity.entity_id}"
    assert refs(alice.path)[ref] == refs(bob.path)[ref] == refs(team.remote)[ref]


def test_the_same_revision_stored_differently_in_two_clones_is_reported_never_taken(
    team: Team, alice: Member, bob: Member
) -> None:
    rev = alice.plan_entity().revision
    alice.plan(expected_revision=rev, name="Alice's name")
    bob.plan(expected_revision=rev, name="Bob's name")
    assert sync(alice.path).conflicts == []
    remote_before = refs(team.remote)

    report = sync(bob.path)

    entity = bob.plan_entity()
    assert {(c.entity_id, c.local_revision, c.remote_revision) for c in report.conflicts} >= {
        (entity.entity_id, rev + 1, rev + 1)
    }
    assert {c.entity_id for c in report.conflicts} == {entity.entity_id, bob.view().task_id}
    assert bob.view().name == "Bob's name"  # nothing taken
    assert refs(team.remote) == remote_before  # nothing pushed over Alice's edit


def test_an_expected_revision_read_before_a_sync_that_brought_another_edit_is_refused(
    alice: Member, bob: Member
) -> None:
    read_by_alice = alice.plan_entity().revision
    bob.plan(expected_revision=bob.plan_entity().revision, name="Bob's name")
    sync(bob.path)
    sync(alice.path)

    with pytest.raises(Conflict):
        alice.plan(expected_revision=read_by_alice, name="Alice's stale name")
    assert alice.view().name == "Bob's name"


def test_prefer_theirs_resolves_above_both_revisions_and_the_old_number_is_then_stale(
    team: Team, alice: Member, bob: Member
) -> None:
    rev = alice.plan_entity().revision
    alice.plan(expected_revision=rev, name="Alice's name")
    bob.plan(expected_revision=rev, name="Bob's name")
    sync(alice.path)
    assert sync(bob.path).conflicts

    report = sync(bob.path, prefer="theirs")

    assert report.conflicts == [] and report.resolved
    assert bob.view().name == "Alice's name"
    assert bob.plan_entity().revision == rev + 2
    with pytest.raises(Conflict):
        bob.plan(expected_revision=rev + 1, name="Bob's stale name")
    assert sync(alice.path).conflicts == []
    alice.reopen()
    assert alice.plan_entity().revision == rev + 2 and alice.view().name == "Alice's name"
    assert sync(bob.path).conflicts == [] and sync(alice.path).conflicts == []


def test_a_push_refused_by_the_remote_leaves_no_sidecar_there(team: Team, alice: Member) -> None:
    hook = team.remote / "hooks" / "update"
    hook.write_text(
        '#!/bin/sh\ncase "$1" in refs/engram/*/v*) exit 0;; esac\necho "no entity updates" >&2\nexit 1\n'
    )
    hook.chmod(0o755)
    rev = alice.plan_entity().revision
    alice.plan(expected_revision=rev, name="Refused name")
    before = refs(team.remote)

    with pytest.raises(StorageError) as err:
        sync(alice.path)

    assert err.value.field == "remote" and "refused" in err.value.message
    assert refs(team.remote) == before


def test_a_hook_refusal_is_reported_at_once_whatever_words_its_message_holds(
    team: Team, alice: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only git's status lines tell a lost race from a refusal; a hook saying "fetch first" or
    # "stale info" refuses the push, and retrying it from a fresh fetch would only refuse again.
    hook = team.remote / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\necho "stale info: fetch first, non-fast-forward" >&2\nexit 1\n')
    hook.chmod(0o755)
    alice.plan(expected_revision=alice.plan_entity().revision, name="Refused name")
    before = refs(team.remote)
    pushes = []
    original = sync_module._push
    monkeypatch.setattr(sync_module, "_push", lambda *a: pushes.append(1) or original(*a))

    with pytest.raises(StorageError) as err:
        sync(alice.path)

    assert len(pushes) == 1
    assert err.value.field == "remote" and "refused" in err.value.message
    assert "kept changing" not in err.value.message
    assert refs(team.remote) == before


def test_a_push_that_loses_a_race_is_retried_from_a_fresh_fetch_and_loses_nothing(
    team: Team, alice: Member, bob: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    rev = alice.plan_entity().revision
    bob.plan(expected_revision=rev, name="Bob's name")
    alice.plan(expected_revision=rev, name="Alice's name")
    original = sync_module._push
    calls = []

    def racing_push(*args: object) -> bool:
        if not calls:
            calls.append(1)
            sync(bob.path)  # Bob's push lands between Alice's fetch and her push
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sync_module, "_push", racing_push)
    report = sync(alice.path)

    entity = alice.plan_entity()
    assert {c.entity_id for c in report.conflicts} == {entity.entity_id, alice.view().task_id}
    stored = blob(team.remote, f"refs/engram/{entity.entity_type}/{entity.entity_id}")["data"]
    assert "Bob's name" in str(stored) and "Alice's name" not in str(stored)
    assert alice.view().name == "Alice's name"


def test_staging_refs_are_never_pushed_and_never_read_as_entities(
    team: Team, alice: Member, bob: Member
) -> None:
    sync(alice.path)
    sync(bob.path)
    assert not [r for r in refs(team.remote) if r.startswith("refs/engram/remote/")]
    assert [r for r in refs(alice.path) if r.startswith("refs/engram/remote/origin/task/")]
    alice.reopen()
    assert len(alice.store.find("task")) == 1 and alice.store.problems() == []


def test_staging_refs_pushed_to_the_remote_by_someone_else_are_not_fetched_into_ours(
    team: Team, alice: Member
) -> None:
    task = alice.view().task_id
    oid = refs(alice.path)[f"refs/engram/task/{task}"]
    git(alice.path, "push", "-q", "origin", f"{oid}:refs/engram/remote/other/task/{task}")
    sync(alice.path)
    assert not [r for r in refs(alice.path) if r.startswith("refs/engram/remote/origin/remote/")]


def test_an_unknown_remote_is_refused_naming_the_configured_ones(alice: Member) -> None:
    with pytest.raises(StorageError) as err:
        sync(alice.path, "upstream")
    assert err.value.field == "remote" and err.value.valid == "origin"
    assert "git remote add upstream" in (err.value.next_step or "")


def test_the_sync_command_reports_and_exits_1_while_conflicts_remain(
    alice: Member, bob: Member, capsys: pytest.CaptureFixture[str]
) -> None:
    rev = alice.plan_entity().revision
    alice.plan(expected_revision=rev, name="Alice's name")
    bob.plan(expected_revision=rev, name="Bob's name")
    assert main(["sync", "--workspace", str(alice.path)]) == 0
    assert main(["sync", "--workspace", str(bob.path), "--remote", "origin"]) == 1
    captured = capsys.readouterr()
    assert "CONFLICT" in captured.out and "--prefer" in captured.err
    assert main(["sync", "--workspace", str(bob.path), "--prefer", "ours"]) == 0


def test_a_release_retired_in_one_clone_is_retired_in_the_other(
    team: Team, alice: Member, bob: Member
) -> None:
    plan = alice.plan_entity()
    alice.planner.retire_release_artifact(VERSION, agent=alice.agent)  # the whole release
    assert sync(alice.path).conflicts == []
    plan_ref = f"refs/engram/{plan.entity_type}/{plan.entity_id}"
    assert plan_ref not in refs(team.remote)

    report = sync(bob.path)

    assert (
        report.conflicts == []
        and f"{plan.entity_type}/{plan.entity_id}@{plan.revision} (deleted)" in report.taken
    )
    assert plan_ref not in refs(bob.path)
    assert f"refs/engram/{plan.entity_type}/v{plan.revision}/{plan.entity_id}" in refs(
        bob.path
    )  # sidecars stay
    assert sync(bob.path).pushed == [] and sync(alice.path).taken == []


def test_a_remote_name_with_a_slash_is_refused_with_the_rename_that_makes_it_usable(alice: Member) -> None:
    git(alice.path, "remote", "add", "team/eu", str(alice.path.parent / "remote.git"))
    with pytest.raises(StorageError) as err:
        sync(alice.path, "team/eu")
    assert err.value.field == "remote" and "'/'" in err.value.message
    assert "git remote rename team/eu team-eu" in (err.value.next_step or "")
    git(alice.path, "remote", "rename", "team/eu", "team-eu")
    assert sync(alice.path, "team-eu").conflicts == []
