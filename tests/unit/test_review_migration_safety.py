"""Migration and data safety across the release: contract dates, gaps, notice, destructive rollbacks,
rollback prerequisites against the plan's schema change, and migration paths for unplanned changes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools.base import ReleaseContext
from release_planner.tools.errors import InvalidInput
from release_planner.tools.examples import migration as example
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import runbook as runbook_example
from release_planner.tools.migration import MigrationPathSpec
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.review import calendar_rules, check_artifact, review
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.runbook import RunbookSpec
from release_planner.tools.service import ReleasePlanner

Found = tuple[str, str, str | None]


def plan(**change: Any) -> ReleasePlanSpec:
    """The v3.0.0 plan, its one breaking change updated with ``change``."""
    args = copy.deepcopy(example.PLAN_V3_ARGS)
    args["breaking_changes"][0].update(change)
    return ReleasePlanSpec.model_validate(args)


def ctx(plan_spec: ReleasePlanSpec | None = None, **slots: Any) -> ReleaseContext:
    return ReleaseContext(version="3.0.0", plan=plan_spec if plan_spec is not None else plan(), **slots)


def phase(name: str, kind: str, start: str, end: str | None = None, *actions: str) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "kind": kind, "start": start, "actions": list(actions)}
    if end is not None:
        item["end"] = end
    return item


def migration(phases: list[dict[str, Any]] | None = None, **changes: Any) -> MigrationPathSpec:
    args = copy.deepcopy(example.ARGS)
    if phases is not None:
        args["phases"] = phases
    args.update(changes)
    return MigrationPathSpec.model_validate(args)


# Which days the phases fall on is the calendar rules' concern (tests/unit/test_review_calendar.py).
CALENDAR_CODES = {rule.code for rule in calendar_rules.RULES}


def found(spec: Any, context: ReleaseContext | None = None) -> list[Found]:
    return [
        (f.code, f.severity, f.field)
        for f in check_artifact(spec, context or ctx())
        if f.code not in CALENDAR_CODES
    ]


def codes(spec: Any, context: ReleaseContext | None = None) -> set[str]:
    return {code for code, _, _ in found(spec, context)}


DB_PLAN = plan(
    name="Rename user_name",
    category="database",
    deprecation_period_days=None,
    migration="expand, dual-write and backfill, contract",
)
NO_WINDOW = {"actions": ["Read from user_name again"]}


def db_path(*phases: dict[str, Any], window: int | None = None) -> MigrationPathSpec:
    rollback_plan = NO_WINDOW if window is None else NO_WINDOW | {"window_days": window}
    return migration(
        list(phases)
        or [
            phase("Add username", "expand", "T-30", "T-1"),
            phase("Dual-write and backfill", "migrate", "T", "T+14"),
            phase("Drop user_name", "contract", "T+30"),
        ],
        change="Rename user_name",
        change_type="database",
        rollback_plan=rollback_plan,
    )


# ----- the examples stay clean -----


def test_the_v3_example_path_has_no_finding_with_or_without_its_plan() -> None:
    spec = migration()
    assert found(spec) == []
    assert found(spec, ReleaseContext(version="3.0.0")) == []


def test_a_sound_expand_migrate_contract_path_after_its_window_has_no_finding() -> None:
    assert found(db_path(window=30), ctx(DB_PLAN)) == []


# ----- 1. a contract before the release or inside the rollback window -----


def test_a_contract_dated_before_the_release_is_an_error_even_with_nothing_else_stored() -> None:
    spec = db_path(
        phase("Add username", "expand", "T-60", "T-40"),
        phase("Backfill", "migrate", "T-40", "T-20"),
        phase("Drop user_name", "contract", "T-10"),
    )
    assert found(spec, ReleaseContext(version="3.0.0")) == [
        ("contract_before_release", "error", "phases[2].start")
    ]


def test_a_shutdown_on_the_release_day_is_inside_the_rollback_window_when_no_window_is_stated() -> None:
    spec = migration(
        [
            phase("Announce", "announce", "T-120"),
            phase("Dual Support", "dual_support", "T-100", "T-1"),
            phase("Shutdown", "shutdown", "T"),
        ],
        rollback_plan={"actions": ["Re-enable v1"]},
    )
    findings = check_artifact(spec, ctx())
    assert [(f.code, f.severity, f.field) for f in findings if f.code not in CALENDAR_CODES] == [
        ("contract_inside_rollback_window", "warning", "phases[2].start")
    ]
    assert "release day" in findings[0].message and "T+1" in findings[0].message


def test_a_contract_the_day_after_the_release_is_fine_when_no_window_is_known() -> None:
    spec = db_path(
        phase("Add username", "expand", "T-30", "T-20"),
        phase("Backfill", "migrate", "T-20", "T"),
        phase("Drop user_name", "contract", "T+1"),
    )
    assert found(spec, ReleaseContext(version="3.0.0")) == []


def test_a_migrate_phase_whose_actions_drop_the_old_column_counts_as_a_contract() -> None:
    spec = db_path(
        phase("Add username", "expand", "T-30", "T-1"),
        phase("Backfill", "migrate", "T", "T+14", "Backfill username", "Drop the user_name column"),
        phase("Drop user_name", "contract", "T+30"),
        window=30,
    )
    assert found(spec, ctx(DB_PLAN)) == [("contract_inside_rollback_window", "warning", "phases[1].start")]


def test_a_shutdown_inside_the_migration_rollback_window_is_warned() -> None:
    spec = migration(rollback_plan={"actions": ["Re-enable v1"], "window_days": 90})
    assert found(spec) == [("contract_inside_rollback_window", "warning", "phases[3].start")]


# ----- 2. gaps with neither the old nor the new path -----


def test_a_contract_before_the_dual_support_that_moves_users_is_a_gap() -> None:
    spec = migration(
        [
            phase("Announce", "announce", "T-90"),
            phase("Drop the v1 routes", "contract", "T+5"),
            phase("Dual Support", "dual_support", "T+10", "T+40"),
        ],
        rollback_plan={"actions": ["Re-enable v1"], "window_days": 2},
    )
    findings = check_artifact(spec, ctx())
    assert [(f.code, f.severity, f.field) for f in findings if f.code not in CALENDAR_CODES] == [
        ("old_path_removed_before_new_path", "error", "phases[1].start")
    ]
    assert "from T+5 until T+10 users have neither" in findings[0].message


def test_an_expand_phase_that_drops_the_old_column_before_the_migrate_phase_is_a_gap() -> None:
    spec = db_path(
        phase(
            "Add username", "expand", "T+1", "T+2", "Add username", "ALTER TABLE users DROP COLUMN user_name"
        ),
        phase("Backfill", "migrate", "T+3", "T+14"),
        phase("Contract", "contract", "T+30"),
        window=1,
    )
    assert found(spec, ctx(DB_PLAN)) == [("old_path_removed_before_new_path", "error", "phases[0].start")]


def test_a_shutdown_before_its_own_dual_support_is_reported_once_as_out_of_order() -> None:
    spec = migration(
        [
            phase("Announce", "announce", "T-90"),
            phase("Shutdown", "shutdown", "T+5"),
            phase("Dual Support", "dual_support", "T+10", "T+40"),
        ],
        rollback_plan={"actions": ["Re-enable v1"], "window_days": 2},
    )
    assert codes(spec) == {"phases_out_of_order"}


def test_days_between_the_end_of_dual_support_and_the_shutdown_are_not_a_gap() -> None:
    # The new path is there from the start of dual support on, and the old one runs until shutdown.
    spec = migration(
        [
            phase("Announce", "announce", "T-90"),
            phase("Dual Support", "dual_support", "T-60", "T+10"),
            phase("Shutdown", "shutdown", "T+60"),
        ]
    )
    assert found(spec) == []


# ----- 3. the promised notice, from the first time users are told -----


def test_a_path_with_no_phase_telling_users_is_reported_when_the_plan_promises_notice() -> None:
    spec = migration(
        [
            phase("Dual Support", "dual_support", "T-60", "T+30", "Both versions available"),
            phase("Shutdown", "shutdown", "T+60"),
        ]
    )
    findings = check_artifact(spec, ctx())
    assert [(f.code, f.severity, f.field) for f in findings if f.code not in CALENDAR_CODES] == [
        ("deprecation_never_announced", "warning", "phases")
    ]
    assert "90-day" in findings[0].message and "T-30" in findings[0].message


def test_no_notice_finding_when_the_plan_promises_none() -> None:
    spec = migration(
        [
            phase("Dual Support", "dual_support", "T-60", "T+30", "Both versions available"),
            phase("Shutdown", "shutdown", "T+60"),
        ]
    )
    assert found(spec, ctx(plan(deprecation_period_days=None))) == []


def test_an_email_in_another_phase_is_when_users_are_first_told() -> None:
    phases = [
        phase("Customer notice", "other", "T-40", None, "Email all API customers about the v1 shutdown"),
        phase("Dual Support", "dual_support", "T-30", "T+60", "Both versions available"),
        phase("Shutdown", "shutdown", "T+60"),
    ]
    assert found(migration(phases)) == []  # told at T-40, 100 days before the shutdown
    findings = check_artifact(migration(phases), ctx(plan(deprecation_period_days=120)))
    assert [(f.code, f.field) for f in findings if f.code not in CALENDAR_CODES] == [
        ("deprecation_shorter_than_planned", "phases[2].start")
    ]
    assert "T-40" in findings[0].message and "100 days" in findings[0].message


def test_a_sunset_warning_alone_is_measured_against_the_promise() -> None:
    spec = migration(
        [
            phase("Dual Support", "dual_support", "T-60", "T+30", "Both versions available"),
            phase("Sunset Warning", "sunset_warning", "T+30", "T+60"),
            phase("Shutdown", "shutdown", "T+60"),
        ]
    )
    assert found(spec) == [("deprecation_shorter_than_planned", "warning", "phases[2].start")]


def test_deprecation_headers_before_the_announcement_count_as_telling_users() -> None:
    spec = migration(
        [
            phase("Dual Support", "dual_support", "T-60", "T+30", "Old version returns deprecation headers"),
            phase("Announce", "announce", "T-10"),
            phase("Shutdown", "shutdown", "T+60"),
        ]
    )
    assert "deprecation_shorter_than_planned" not in codes(spec)


# ----- 4. a destructive rollback step claiming no data loss -----


def rollback_with(step: dict[str, Any], *, risk: str = "none") -> RollbackSpec:
    args = copy.deepcopy(rollback_example.ARGS)
    args["procedures"][1] = {
        "type": "application",
        "applies_to": ["all"],
        "complexity": "medium",
        "risk": "medium",
        "time_to_rollback_minutes": 15,
        "steps": [{"action": "Redeploy the previous image", "command": "helm rollback api 3"}, step],
        "data_loss_risk": risk,
    } | ({"data_loss_mitigation": "Snapshot before rolling back"} if risk != "none" else {})
    return RollbackSpec.model_validate(args)


@pytest.mark.parametrize(
    "step",
    [
        {"action": "Roll back the schema", "command": "bin/rails db:rollback STEP=1"},
        {"action": "Undo the changelog", "command": "liquibase rollbackCount 1"},
        {"action": "Revert", "command": "npx sequelize-cli db:migrate:undo"},
        {"action": "Run the down-migration"},
        {"action": "Drop the new table", "command": "psql -c 'DROP TABLE user_preferences'"},
    ],
)
def test_a_destructive_step_in_a_procedure_claiming_no_data_loss_is_an_error(step: dict[str, Any]) -> None:
    spec = rollback_with(step)
    findings = check_artifact(spec, ReleaseContext(version="2.5.0"))
    assert [(f.code, f.severity, f.field) for f in findings if f.code not in CALENDAR_CODES] == [
        ("destructive_step_claims_no_data_loss", "error", "procedures[1].data_loss_risk")
    ]


def test_the_same_step_with_its_data_loss_stated_is_not_that_error() -> None:
    spec = rollback_with({"action": "Roll back", "command": "bin/rails db:rollback STEP=1"}, risk="possible")
    assert "destructive_step_claims_no_data_loss" not in codes(spec, ReleaseContext(version="2.5.0"))


def test_an_application_rollback_claiming_no_data_loss_is_left_alone() -> None:
    spec = rollback_with({"action": "Verify pods", "command": "kubectl rollout status deployment/api"})
    assert found(spec, ReleaseContext(version="2.5.0")) == []


def test_the_runbook_flags_any_common_down_migration_not_only_alembic() -> None:
    args = copy.deepcopy(runbook_example.ARGS)
    args["steps"][0]["commands"] = [*args["steps"][0].get("commands", []), "npx knex migrate:rollback --all"]
    spec = RunbookSpec.model_validate(args)
    hits = [f for f in spec.check(ReleaseContext(version="2.5.0")) if f.code == "down_migration_in_runbook"]
    assert [(f.severity, f.field) for f in hits] == [
        ("warning", f"steps[0].commands[{len(args['steps'][0]['commands']) - 1}]")
    ]
    assert "migrate:rollback" in hits[0].message
    assert RunbookSpec.model_validate(runbook_example.ARGS).check(ReleaseContext(version="2.5.0")) == []


# ----- 5. a rollback that assumes no schema change in a release that has one -----


def test_a_prerequisite_assuming_no_migration_is_warned_when_the_plan_changes_the_database() -> None:
    rollback = RollbackSpec.model_validate(rollback_example.ARGS)
    findings = [
        f
        for f in check_artifact(rollback, ctx(DB_PLAN, rollback=rollback))
        if f.code == "rollback_assumes_no_schema_change"
    ]
    # ARGS' application procedure says "No database migration in this release".
    assert [(f.severity, f.field) for f in findings if f.code not in CALENDAR_CODES] == [
        ("warning", "procedures[1].prerequisites[1]")
    ]
    assert "'Rename user_name'" in findings[0].message


def test_a_database_migration_path_alone_is_enough_to_contradict_the_assumption() -> None:
    rollback = RollbackSpec.model_validate(rollback_example.ARGS)
    context = ReleaseContext(version="3.0.0", rollback=rollback, migrations=[db_path(window=30)])
    assert [(f.finding.code, f.finding.field) for f in review(context)] == [
        ("rollback_assumes_no_schema_change", "procedures[1].prerequisites[1]")
    ]


def test_the_assumption_is_fine_when_the_release_changes_no_schema() -> None:
    rollback = RollbackSpec.model_validate(rollback_example.ARGS)
    seed = ReleasePlanSpec.model_validate(plan_example.ARGS)
    assert check_artifact(rollback, ReleaseContext(version="2.5.0", plan=seed, rollback=rollback)) == []
    assert "rollback_assumes_no_schema_change" not in codes(rollback, ctx(rollback=rollback))


# ----- 6. a migration path for a change the plan does not list -----


@pytest.mark.parametrize("name", ["API v1 to v3", "api-v1-to-v2", "API  v1 → v2", "Api V1 to V2."])
def test_a_near_miss_change_name_is_refused_with_the_closest_planned_name(name: str) -> None:
    findings = check_artifact(migration(change=name), ctx())
    assert [(f.code, f.severity, f.field) for f in findings if f.code not in CALENDAR_CODES] == [
        ("unknown_breaking_change", "error", "change")
    ]
    assert "did you mean 'API v1 to v2'?" in findings[0].message


def test_a_far_off_change_name_lists_the_planned_names() -> None:
    [finding] = check_artifact(migration(change="Drop SOAP"), ctx())
    assert "did you mean" not in finding.message and "it has: 'API v1 to v2'" in finding.message


def test_a_plan_without_breaking_changes_says_to_add_the_change_there_first() -> None:
    seed = ReleasePlanSpec.model_validate(plan_example.ARGS | {"version": "3.0.0"})
    [finding] = check_artifact(migration(), ctx(seed))
    assert finding.code == "unknown_breaking_change" and finding.severity == "error"
    assert "lists no breaking changes at all" in finding.message
    assert "create_release_plan first" in finding.message


def test_an_unplanned_change_is_not_stored_but_a_stored_orphan_stays_readable() -> None:
    store = MemoryStore()
    planner = ReleasePlanner(store)
    two = copy.deepcopy(example.PLAN_V3_ARGS)
    two["breaking_changes"].append(two["breaking_changes"][0] | {"name": "Drop XML"})
    planner.create_release_plan(ReleasePlanSpec.model_validate(two))
    with pytest.raises(InvalidInput) as refused:
        planner.design_migration_path(migration(change="Drop XLM"))
    assert refused.value.field == "change" and "'Drop XML'" in refused.value.message

    planner.design_migration_path(migration(change="Drop XML"))
    # The plan drops the change afterwards: the path it leaves behind is an orphan, still readable.
    planner.create_release_plan(ReleasePlanSpec.model_validate(example.PLAN_V3_ARGS))
    view = planner.get_release_plan("3.0.0")
    assert [a.kind for a in view.artifacts].count("migration_path") == 1
    assert any(w.code == "unknown_breaking_change" and "'Drop XML'" in w.message for w in view.warnings)
