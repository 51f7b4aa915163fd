"""Rollback evidence (issue 9, class B): stated confidence against the evidence, rehearsals with issues,
rehearsals after the release, and a rollback slower than the window it must finish in."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release_planner.tools import review
from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.migration import MigrationPathSpec
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.review import check_artifact
from release_planner.tools.rollback import KIND as ROLLBACK_KIND
from release_planner.tools.rollback import RollbackSpec, procedure_confidence
from release_planner.tools.rollout import RolloutSpec

PLAN = ReleasePlanSpec.model_validate(plan_example.ARGS)  # T = 2026-03-16
WITH_PLAN = ReleaseContext(version="2.5.0", plan=PLAN)
ALONE = ReleaseContext(version="2.5.0")
EVIDENCE_CODES = {
    "confidence_above_evidence",
    "confidence_without_rehearsal",
    "confidence_despite_rehearsal_issues",
    "rehearsal_after_release",
    "rollback_slower_than_window",
}


def rollback(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(rollback_example.ARGS)
    data.update(changes)
    return data


def found(data: dict[str, Any], ctx: ReleaseContext = WITH_PLAN) -> list[tuple[str, str | None, str]]:
    """The evidence findings a write of this rollback strategy reports: (code, field, message)."""
    spec = RollbackSpec.model_validate(data)
    return [(f.code, f.field, f.message) for f in check_artifact(spec, ctx) if f.code in EVIDENCE_CODES]


def with_rollback(ctx: ReleaseContext, data: dict[str, Any]) -> ReleaseContext:
    return ctx.with_spec(ROLLBACK_KIND, RollbackSpec.model_validate(data))


def codes(data: dict[str, Any], ctx: ReleaseContext = WITH_PLAN) -> list[tuple[str, str | None]]:
    return [(code, field) for code, field, _ in found(data, ctx)]


# --- a stated confidence above the evidence ------------------------------------------------------------


def test_the_corrected_seed_rollback_has_no_evidence_finding_with_or_without_its_plan() -> None:
    assert found(rollback()) == []
    assert found(rollback(), ALONE) == []


def test_a_procedure_confidence_above_its_rehearsed_level_is_a_warning_naming_both_figures() -> None:
    data = rollback()
    data["procedures"][1]["confidence"] = 0.99  # rehearsed, low complexity: the evidence gives 0.95
    [(code, field, message)] = found(data)
    assert (code, field) == ("confidence_above_evidence", "procedures[1].confidence")
    assert "0.99" in message and "gives 0.95" in message


def test_a_moderate_confidence_on_an_unrehearsed_procedure_is_held_to_the_unrehearsed_cap() -> None:
    data = rollback()
    data["procedures"][2]["confidence"] = 0.85  # not above 0.9, so not a "claim without rehearsal"
    [(code, field, message)] = found(data)
    assert (code, field) == ("confidence_above_evidence", "procedures[2].confidence")
    assert "0.85" in message and "gives 0.70" in message and "not rehearsed" in message


def test_a_confidence_above_the_data_loss_cap_is_caught_even_with_a_good_rehearsal() -> None:
    data = rollback()
    data["procedures"][1].update(confidence=0.9, data_loss_risk="possible", data_loss_mitigation="Snapshot")
    [(code, field, message)] = found(data)
    assert (code, field) == ("confidence_above_evidence", "procedures[1].confidence")
    assert "gives 0.80" in message


@pytest.mark.parametrize("stated", [0.95, 0.7, 0.5])
def test_a_stated_procedure_confidence_at_or_below_the_evidence_is_left_alone(stated: float) -> None:
    data = rollback()
    data["procedures"][1]["confidence"] = stated  # the evidence gives 0.95
    assert found(data) == []


def test_an_overall_confidence_above_the_evidence_points_at_confidence_with_both_figures() -> None:
    # Without the plan only the application rollback covers "all": the evidence gives 0.95.
    [(code, field, message)] = found(rollback(confidence=0.99), ALONE)
    assert (code, field) == ("confidence_above_evidence", "confidence")
    assert "0.99 is stated" in message and "gives 0.95" in message


def test_the_overall_evidence_follows_the_plan_so_the_same_claim_is_sound_against_the_seed_plan() -> None:
    # With the plan, every shipping feature is covered by the rehearsed flag procedure at 0.99.
    assert found(rollback(confidence=0.99)) == []


def test_the_overall_finding_names_the_feature_that_limits_the_evidence() -> None:
    data = rollback(confidence=0.9)
    data["procedures"][0]["applies_to"] = ["enable_dark_mode"]  # flags now cover Dark Mode only
    data["procedures"][1]["applies_to"] = ["Payment Processing (Stripe Integration)"]
    [(code, field, message)] = found(data)
    assert (code, field) == ("confidence_above_evidence", "confidence")
    assert "no procedure covers feature 'Advanced Search (Elasticsearch)'" in message


def test_a_stated_overall_below_the_evidence_is_left_alone() -> None:
    assert found(rollback(confidence=0.8), ALONE) == []


def test_the_evidence_figure_ignores_stated_procedure_confidences_and_the_markdown_shows_it() -> None:
    data = rollback()
    for proc in data["procedures"]:
        proc.pop("rehearsal", None)
        proc["confidence"] = 0.9
    spec = RollbackSpec.model_validate(data)
    assert spec.confidence(WITH_PLAN) == 0.9  # the documented rule uses the stated values...
    assert spec.evidence_confidence(WITH_PLAN) == 0.70  # ...the evidence figure does not
    markdown = spec.render(WITH_PLAN)
    assert "**Overall Rollback Confidence:** 0.90 (the evidence supports 0.70)" in markdown
    assert "stated, not rehearsed; the evidence supports 0.70 (not rehearsed, capped at 0.70)" in markdown


def test_an_overall_claim_with_nothing_rehearsed_is_reported_once_with_the_cap() -> None:
    data = rollback(confidence=0.95)
    for proc in data["procedures"]:
        proc.pop("rehearsal", None)
    assert codes(data) == [("confidence_without_rehearsal", "confidence")]
    assert "at most 0.70" in found(data)[0][2]


# --- a rehearsal that found issues ------------------------------------------------------------------------


def _with_issues(**proc_changes: Any) -> dict[str, Any]:
    data = rollback()
    data["procedures"][1]["rehearsal"]["issues_found"] = ["Pods took 4 minutes to drain"]
    data["procedures"][1].update(proc_changes)
    return data


def test_a_confidence_at_the_rehearsed_level_despite_rehearsal_issues_is_a_warning() -> None:
    [(code, field, message)] = found(_with_issues(confidence=0.95))
    assert (code, field) == ("confidence_despite_rehearsal_issues", "procedures[1].confidence")
    assert "Pods took 4 minutes to drain" in message and "0.95" in message and "0.70" in message


def test_the_evidence_rule_never_counts_a_rehearsal_with_issues() -> None:
    spec = RollbackSpec.model_validate(_with_issues())
    assert procedure_confidence(spec.procedures[1]) == 0.70
    assert spec.evidence_confidence(ALONE) == 0.70  # the application rollback is the only 'all' procedure
    assert "rehearsal found issues, capped at 0.70" in spec.render(ALONE)


def test_an_overall_claim_resting_on_rehearsals_with_issues_is_caught() -> None:
    data = _with_issues()
    data["confidence"] = 0.95
    assert codes(data, ALONE) == [("confidence_above_evidence", "confidence")]


def test_a_stated_confidence_within_the_cap_after_a_rehearsal_with_issues_is_left_alone() -> None:
    assert found(_with_issues(confidence=0.7)) == []


@pytest.mark.parametrize(
    "said", ["None", "none.", "N/A", "n/a", "-", "No issues found", "Nothing found", "nil"]
)
def test_an_issues_entry_that_only_says_there_were_none_is_not_an_issue(said: str) -> None:
    data = rollback()
    data["procedures"][1]["rehearsal"]["issues_found"] = [said]
    data["procedures"][1]["confidence"] = 0.95
    spec = RollbackSpec.model_validate(data)
    assert found(data) == []
    assert procedure_confidence(spec.procedures[1].model_copy(update={"confidence": None})) == 0.95
    assert "- Issues found: None" in spec.render(ALONE)


def test_an_issue_that_starts_with_none_is_still_an_issue() -> None:
    data = rollback()
    data["procedures"][1]["rehearsal"]["issues_found"] = ["None of the pods drained within the timeout"]
    spec = RollbackSpec.model_validate(data)
    assert procedure_confidence(spec.procedures[1]) == 0.70


# --- a rehearsal dated after the release ----------------------------------------------------------------


def _late(date: str = "2026-03-20", **proc_changes: Any) -> dict[str, Any]:
    data = rollback()
    data["procedures"][0]["rehearsal"]["date"] = date  # the plan's target date is 2026-03-16
    data["procedures"][0].update(proc_changes)
    return data


def test_a_rehearsal_dated_after_the_release_is_a_warning_on_its_date() -> None:
    [(code, field, message)] = found(_late())
    assert (code, field) == ("rehearsal_after_release", "procedures[0].rehearsal.date")
    assert "2026-03-20" in message and "2026-03-16" in message


def test_a_rehearsal_after_the_release_is_no_evidence() -> None:
    spec = RollbackSpec.model_validate(_late())
    assert spec.confidence_by_type(WITH_PLAN)["feature_flag"] == 0.70
    # The flag procedure was the best for the two flagged-only features: now 0.95 from the redeploy.
    assert spec.evidence_confidence(WITH_PLAN) == 0.95
    assert "after the release day 2026-03-16, capped at 0.70" in spec.render(WITH_PLAN)


def test_a_stated_confidence_resting_on_a_late_rehearsal_involves_the_release_plan() -> None:
    data = _late(confidence=0.99)
    assert codes(data) == [
        ("confidence_above_evidence", "procedures[0].confidence"),
        ("rehearsal_after_release", "procedures[0].rehearsal.date"),
    ]
    # The release plan's write reports both: its target date is what makes the rehearsal late.
    plan_codes = {f.code for f in check_artifact(PLAN, with_rollback(WITH_PLAN, data))}
    assert {"confidence_above_evidence", "rehearsal_after_release"} <= plan_codes


def test_a_rehearsal_on_the_release_day_or_with_no_plan_to_date_it_counts() -> None:
    assert found(_late("2026-03-16")) == []
    assert found(_late(), ALONE) == []
    assert RollbackSpec.model_validate(_late()).confidence_by_type(ALONE)["feature_flag"] == 0.99


# --- a rollback slower than the window it must finish in ---------------------------------------------


SCHEMA = "Orders table split"


def _plan_with_schema_change() -> ReleasePlanSpec:
    args = copy.deepcopy(plan_example.ARGS)
    args["breaking_changes"] = [
        {
            "name": SCHEMA,
            "category": "database",
            "change": "Split orders into orders and order_lines",
            "affects": ["orders table"],
            "migration": "Expand, dual-write, backfill, switch reads, then drop the old columns",
        }
    ]
    return ReleasePlanSpec.model_validate(args)


def _migration(window_days: int | None = 1, contract: str = "T+3") -> MigrationPathSpec:
    return MigrationPathSpec.model_validate(
        {
            "version": "2.5.0",
            "change": SCHEMA,
            "rationale": "Order lines outgrew a JSON column",
            "phases": [
                {"name": "Add order_lines", "kind": "expand", "start": "T-7"},
                {"name": "Dual-write and backfill", "kind": "migrate", "start": "T-5", "end": "T+2"},
                {"name": "Drop the JSON column", "kind": "contract", "start": contract},
            ],
            "rollback_plan": {"actions": ["Restore the orders table from the snapshot"]}
            | ({} if window_days is None else {"window_days": window_days}),
            "confidence": 0.8,
        }
    )


def _with_restore(minutes: float, applies_to: list[str] | None = None, measured: float | None = None) -> dict:
    data = rollback()
    proc: dict[str, Any] = {
        "type": "database",
        "applies_to": applies_to or ["Order data"],
        "complexity": "high",
        "risk": "high",
        "time_to_rollback_minutes": minutes,
        "steps": [{"action": "Restore the orders table from the pre-release snapshot"}],
        "data_loss_risk": "possible",
        "data_loss_mitigation": "Replay the order events written since the snapshot",
    }
    if measured is not None:
        proc["rehearsal"] = {"date": "2026-03-10", "measured_minutes": measured}
    data["procedures"].append(proc)
    return data


def _window_ctx(migration: MigrationPathSpec, rollout: RolloutSpec | None = None) -> ReleaseContext:
    return ReleaseContext(
        version="2.5.0", plan=_plan_with_schema_change(), migrations=[migration], rollout=rollout
    )


def test_a_database_rollback_longer_than_the_migrations_rollback_window_is_a_warning() -> None:
    data = _with_restore(36 * 60)  # a day and a half, against a one-day window
    [(code, field, message)] = found(data, _window_ctx(_migration()))
    assert (code, field) == ("rollback_slower_than_window", "procedures[3].time_to_rollback_minutes")
    assert "36 hours" in message and "T+1" in message and "window_days" in message and "at least 2" in message


def test_a_procedure_for_all_features_is_held_to_the_window_too() -> None:
    data = rollback()
    data["procedures"][1]["time_to_rollback_minutes"] = 3 * 24 * 60
    data["procedures"][1].pop("time_to_rollback_best_minutes")
    data["procedures"][1].pop("rehearsal")
    assert codes(data, _window_ctx(_migration(window_days=2, contract="T+4"))) == [
        ("rollback_slower_than_window", "procedures[1].time_to_rollback_minutes")
    ]


def test_a_rehearsal_slower_than_the_window_is_caught_even_when_the_stated_time_fits() -> None:
    data = _with_restore(20 * 60, measured=30 * 60)
    assert ("rollback_slower_than_window", "procedures[3].time_to_rollback_minutes") in codes(
        data, _window_ctx(_migration())
    )


def test_a_rollback_that_fits_the_window_is_left_alone() -> None:
    assert found(_with_restore(12 * 60), _window_ctx(_migration())) == []


def test_a_procedure_that_does_not_undo_the_change_is_not_held_to_its_window() -> None:
    data = _with_restore(36 * 60)
    data["procedures"][3]["type"] = "infrastructure"
    data["procedures"][3]["applies_to"] = ["Elasticsearch cluster"]
    assert found(data, _window_ctx(_migration())) == []


def test_a_procedure_naming_what_the_change_affects_is_held_to_its_window() -> None:
    data = _with_restore(36 * 60, applies_to=["Orders Table"])
    data["procedures"][3]["type"] = "infrastructure"
    assert codes(data, _window_ctx(_migration())) == [
        ("rollback_slower_than_window", "procedures[3].time_to_rollback_minutes")
    ]


def test_the_rollouts_end_keeps_the_way_back_open_longer_so_the_same_rollback_fits() -> None:
    rollout = RolloutSpec.model_validate(rollout_example.ARGS)  # flags removed April 1, T+16
    assert found(_with_restore(36 * 60), _window_ctx(_migration(), rollout)) == []


def test_without_a_window_after_the_release_there_is_nothing_to_compare() -> None:
    assert found(_with_restore(36 * 60), _window_ctx(_migration(window_days=None))) == []
    assert found(_with_restore(36 * 60), _window_ctx(_migration(window_days=0))) == []


def test_the_window_finding_involves_the_migration_so_its_write_reports_it() -> None:
    migration = _migration()
    ctx = with_rollback(_window_ctx(migration), _with_restore(36 * 60))
    assert "rollback_slower_than_window" in {f.code for f in check_artifact(migration, ctx)}


def test_every_new_rule_is_declared_once_with_a_fix() -> None:
    rules = {rule.code: rule for rule in review.RULES}
    for code in ("confidence_above_evidence", "rehearsal_after_release", "rollback_slower_than_window"):
        assert rules[code].severity == "warning" and rules[code].fix
