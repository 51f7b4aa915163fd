"""An honest stakeholder summary (issue 9, class G): what is open is said, the rollback line names the
slowest rollback a must-have feature may need, and "Every step is planned" only when nothing is open."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from release_planner.server.engram.memory import MemoryStore
from release_planner.tools.base import ReleaseContext
from release_planner.tools.examples import migration as migration_example
from release_planner.tools.examples import release_plan as plan_example
from release_planner.tools.examples import rollback as rollback_example
from release_planner.tools.examples import rollout as rollout_example
from release_planner.tools.examples import runbook as runbook_example
from release_planner.tools.migration import MigrationPathSpec
from release_planner.tools.release_plan import ReleasePlanSpec
from release_planner.tools.results import Notice
from release_planner.tools.rollback import RollbackSpec
from release_planner.tools.rollout import RolloutSpec
from release_planner.tools.runbook import RunbookSpec
from release_planner.tools.service import ReleasePlanner
from release_planner.tools.summary import stakeholder_summary


@pytest.fixture
def planner() -> ReleasePlanner:
    return ReleasePlanner(MemoryStore())


def plan_seed(planner: ReleasePlanner, rollout_args: dict[str, Any] | None = None) -> None:
    planner.create_release_plan(ReleasePlanSpec.model_validate(plan_example.ARGS))
    planner.design_rollback(RollbackSpec.model_validate(rollback_example.ARGS))
    planner.plan_rollout(RolloutSpec.model_validate(rollout_args or rollout_example.ARGS))
    planner.create_runbook(RunbookSpec.model_validate(runbook_example.ARGS))


# v3.0.0 with what a careful reader must hear about: a blocked dependency, a must-have feature only a
# slow, unrehearsed redeploy undoes, an overall confidence the rehearsals do not support, and no rollout
# or runbook yet.
V3_PLAN = copy.deepcopy(migration_example.PLAN_V3_ARGS)
V3_PLAN["features"].append({"name": "Bearer token auth", "batch": "must_have", "reason": "v2 needs it"})
V3_PLAN["dependencies"] = [
    {"name": "Partner SDK v2 released", "scope": "external", "status": "blocked", "due": "2026-07-01"},
    {"name": "Docs portal updated", "scope": "internal", "status": "in_progress"},
]
V3_ROLLBACK: dict[str, Any] = {
    "version": "3.0.0",
    "automatic_triggers": [{"metric": "error_rate", "comparator": ">", "threshold": 5, "window_minutes": 5}],
    "procedures": [
        {
            "type": "feature_flag",
            "applies_to": ["enable_api_v2"],
            "complexity": "very_low",
            "risk": "very_low",
            "time_to_rollback_minutes": 1,
            "steps": [{"action": "Turn enable_api_v2 off"}],
            "rehearsal": {"date": "2026-07-01", "measured_minutes": 0.5},
        },
        {
            "type": "application",
            "applies_to": ["all"],
            "complexity": "low",
            "risk": "low",
            "time_to_rollback_minutes": 15,
            "steps": [{"action": "Redeploy v2.9"}],
        },
    ],
    "confidence": 0.95,
}


def plan_v3(planner: ReleasePlanner) -> None:
    planner.create_release_plan(ReleasePlanSpec.model_validate(V3_PLAN))
    planner.design_migration_path(MigrationPathSpec.model_validate(migration_example.ARGS))
    planner.design_rollback(RollbackSpec.model_validate(V3_ROLLBACK))


def test_a_plan_with_open_warnings_gets_an_honest_paragraph(planner: ReleasePlanner) -> None:
    plan_v3(planner)
    summary = planner.summarize_release("3.0.0")
    assert summary.summary == (
        "Release v3.0.0 (API v2) targets July 13, 2026. It includes 2 features (must have: API v2 (JSON, "
        "filter syntax, Bearer auth) and Bearer token auth). Not behind a flag: Bearer token auth. "
        "1 breaking change, each with a migration path. Blocked dependency: Partner SDK v2 released "
        "(due July 1, 2026). "
        "Dependencies not done yet: Docs portal updated (in progress). Top risk: Customers miss the "
        "deprecation notices and break at shutdown (high). Customer-facing dates: API v1 to v2: deprecation "
        "announced April 14, 2026, sunset warnings from August 12, 2026 and shutdown September 11, 2026. "
        "Rollback: up to 15 minutes for the must-have features (Bearer token auth via redeploy, 15 minutes; "
        "API v2 (JSON, filter syntax, Bearer auth) via feature flag, 1 minute); confidence 0.95 as stated, "
        "0.70 by the rehearsal evidence. Open findings: 3 warnings (unrated_feature_risk, dependency_blocked "
        "and confidence_above_evidence); review them before go-live. Not planned yet: rollout plan, runbook."
    )
    assert "Every step is planned" not in summary.summary


def test_the_facts_hold_what_the_open_paragraph_says(planner: ReleasePlanner) -> None:
    plan_v3(planner)
    summary = planner.summarize_release("3.0.0")
    facts = summary.facts
    assert facts["open_findings"] == {
        "count": len(summary.warnings),
        "errors": 0,
        "warnings": 3,
        "top_codes": ["unrated_feature_risk", "dependency_blocked", "confidence_above_evidence"],
    }
    assert facts["blocked_dependencies"] == ["Partner SDK v2 released"]
    assert facts["open_dependencies"] == ["Partner SDK v2 released", "Docs portal updated"]
    assert [r["level"] for r in facts["top_risks"]] == ["high"]
    assert [(d["event"], d["date"]) for d in facts["customer_dates"]] == [
        ("announce", "2026-04-14"),
        ("sunset_warning", "2026-08-12"),
        ("shutdown", "2026-09-11"),
    ]
    rollback = facts["rollback"]
    assert (rollback["overall_confidence"], rollback["evidence_confidence"]) == (0.95, 0.70)
    assert rollback["slowest_needed"] == {
        "feature": "Bearer token auth",
        "type": "application",
        "minutes": 15,
    }
    assert rollback["fastest"] == {"type": "feature_flag", "minutes": 1.0}  # kept, but not what is shown
    assert facts["missing"] == ["rollout_plan", "runbook"]


def test_a_complete_sound_plan_gets_the_reassurance_and_nothing_open(planner: ReleasePlanner) -> None:
    plan_seed(planner)
    summary = planner.summarize_release("2.5.0")
    assert summary.summary == (
        "Release v2.5.0 (Enterprise Features) targets March 16, 2026. It includes 4 features (must have: "
        "Payment Processing (Stripe Integration) and Advanced Search (Elasticsearch); nice to have: "
        "Real-time Notifications (WebSocket) and Dark Mode UI). 2 deferred: Mobile App Redesign and API v3 "
        "(Breaking Changes). All features are behind flags. Top risk: Payment integration edge cases: "
        "refunds, disputes, failed charges (high). Rollout: 10-day feature flag rollout in 5 phases "
        "(1% → 5% → 20% → 50% → 100%), March 16 to March 25, 2026; go/no-go gates at 4 of 5 phases. "
        "Rollback: up to 1 minute for the must-have features (Payment Processing (Stripe Integration) and "
        "Advanced Search (Elasticsearch) via feature flag); confidence 0.99. Runbook: 6 deployment steps, "
        "7 smoke tests, schedule taken from the rollout plan. Every step is planned."
    )
    assert summary.warnings == []
    assert summary.facts["open_findings"]["count"] == 0


def test_every_step_planned_is_not_said_while_a_warning_is_open(planner: ReleasePlanner) -> None:
    rollout = copy.deepcopy(rollout_example.ARGS)
    rollout["halt_threshold"][0]["threshold"] = 3  # the rollback's trigger fires at 5 percent
    plan_seed(planner, rollout)
    summary = planner.summarize_release("2.5.0")
    assert summary.facts["missing"] == []
    assert "Every step is planned" not in summary.summary
    assert summary.summary.endswith(
        "Open findings: 1 warning (halt_threshold_disagrees_with_rollback); review them before go-live."
    )


# --- the parts, on a context of their own --------------------------------------------------------------

PLAN = ReleasePlanSpec.model_validate(plan_example.ARGS)


def summarize(ctx: ReleaseContext, findings: list[Notice] | None = None, untyped: list[Any] | None = None):
    return stakeholder_summary(ctx.version, ctx, [], untyped or [], findings or [])


def test_an_artifact_written_by_hand_withholds_the_reassurance() -> None:
    text, _ = summarize(ReleaseContext(version="2.5.0", plan=PLAN), untyped=[object()])
    assert "not checked" in text and "Every step is planned" not in text


def test_the_rollback_line_names_the_slowest_rollback_a_must_have_feature_needs_not_the_fastest() -> None:
    data = copy.deepcopy(rollback_example.ARGS)
    data["procedures"][0]["applies_to"] = ["enable_dark_mode"]  # the 1-minute flag: nice-to-have only
    data["procedures"][1]["applies_to"] = ["Payment Processing (Stripe Integration)"]
    data["procedures"][2]["applies_to"] = ["Advanced Search (Elasticsearch)"]
    ctx = ReleaseContext(version="2.5.0", plan=PLAN, rollback=RollbackSpec.model_validate(data))
    text, facts = summarize(ctx)
    assert (
        "Rollback: up to 2.0 hours for the must-have features (Advanced Search (Elasticsearch) via "
        "infrastructure rollback, 2.0 hours; Payment Processing (Stripe Integration) via redeploy, "
        "10 minutes);" in text
    )
    assert "1 minute" not in text
    assert facts["rollback"]["slowest_needed"]["minutes"] == 120


def test_a_must_have_feature_no_procedure_covers_is_named() -> None:
    data = copy.deepcopy(rollback_example.ARGS)
    data["procedures"] = [data["procedures"][0]]
    data["procedures"][0]["applies_to"] = ["enable_elasticsearch_search"]
    ctx = ReleaseContext(version="2.5.0", plan=PLAN, rollback=RollbackSpec.model_validate(data))
    text, facts = summarize(ctx)
    assert (
        "Rollback: up to 1 minute for the must-have features (Advanced Search (Elasticsearch) via feature "
        "flag), but no procedure covers Payment Processing (Stripe Integration); confidence 0.00." in text
    )
    assert facts["rollback"]["must_have"][0] == {
        "feature": "Payment Processing (Stripe Integration)",
        "type": None,
        "minutes": None,
    }


def test_without_a_plan_the_rollback_line_gives_the_range_of_procedures() -> None:
    ctx = ReleaseContext(version="2.5.0", rollback=RollbackSpec.model_validate(rollback_example.ARGS))
    text, _ = summarize(ctx)
    assert (
        "Rollback: 3 procedures, from 1 minute via feature flag to 2.0 hours via infrastructure rollback; "
        "confidence 0.95." in text
    )


def test_errors_lead_the_open_findings_then_the_most_frequent_codes() -> None:
    notices = [
        Notice(code="feature_without_rollback", message="rollback_strategy: a"),
        Notice(code="halt_threshold_disagrees_with_rollback", message="rollout_plan: b"),
        Notice(code="feature_without_rollback", message="rollback_strategy: c"),
        Notice(code="database_change_without_expand_contract", message="migration_path (error): d"),
        Notice(code="artifact_not_linked", message="Runbook is not linked"),
    ]
    text, facts = summarize(ReleaseContext(version="2.5.0", plan=PLAN), findings=notices)
    assert (
        "Open findings: 1 error and 4 warnings (database_change_without_expand_contract, "
        "feature_without_rollback ×2, halt_threshold_disagrees_with_rollback and 1 other); review them "
        "before go-live." in text
    )
    assert facts["open_findings"]["errors"] == 1


def test_a_promised_deprecation_without_a_migration_path_is_said_to_have_no_dates_yet() -> None:
    plan = ReleasePlanSpec.model_validate(migration_example.PLAN_V3_ARGS)
    text, facts = summarize(ReleaseContext(version="3.0.0", plan=plan))
    assert "Customer-facing dates: API v1 to v2: 90-day deprecation promised, no dates yet." in text
    assert facts["customer_dates"] == [
        {"change": "API v1 to v2", "event": "deprecation_period", "date": None, "offset": None}
    ]


def test_without_a_plan_customer_dates_are_given_as_t_offsets() -> None:
    migration = MigrationPathSpec.model_validate(migration_example.ARGS)
    text, _ = summarize(ReleaseContext(version="3.0.0", migrations=[migration]))
    assert (
        "Customer-facing dates: API v1 to v2: deprecation announced T-90, sunset warnings from T+30 and "
        "shutdown T+60." in text
    )


def test_the_top_risks_are_the_critical_and_high_ones_else_the_medium_ones() -> None:
    args = copy.deepcopy(plan_example.ARGS)
    args["risks"][2]["level"] = "critical"
    text, facts = summarize(ReleaseContext(version="2.5.0", plan=ReleasePlanSpec.model_validate(args)))
    assert [r["level"] for r in facts["top_risks"]] == ["critical", "high"]
    assert (
        "Top risks: Elasticsearch cluster stability: first time in production (critical); Payment "
        "integration edge cases: refunds, disputes, failed charges (high)." in text
    )
    args["risks"] = [r for r in args["risks"] if r["level"] in ("medium", "low")]
    text, _ = summarize(ReleaseContext(version="2.5.0", plan=ReleasePlanSpec.model_validate(args)))
    assert "Top risk: WebSocket scaling under load: untested at 100K concurrent connections (medium)." in text
