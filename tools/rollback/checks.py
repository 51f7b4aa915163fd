"""The rollback strategy's own checks, as plain functions of its fields.

Each check reports on this artifact alone; rules that need other artifacts of the release (e.g. a
feature no procedure covers) live in ``tools.review``.
"""

from __future__ import annotations

import re

from ..base import Finding, error, warning
from ..destructive import destructive
from .evidence import (
    UNREHEARSED_CAP,
    claims_despite_issues,
    claims_without_rehearsal,
    evidence_procedure_confidence,
    overall_claims_without_rehearsal,
    real_issues,
)
from .model import PROCEDURE_NAMES, RollbackFields, RollbackProcedure

# Down-migrations that drop what the release added; the skill's `alembic downgrade -1` is the example.
_DOWN_MIGRATION = re.compile(
    r"\balembic\s+downgrade\b|\bflyway\s+undo\b|\bliquibase\b.*\brollback|\bmigrate\s+down\b", re.IGNORECASE
)


def check(spec: RollbackFields) -> list[Finding]:
    """The findings of the whole spec: procedures, then triggers, then communication."""
    findings: list[Finding] = []
    findings += _check_procedures(spec)
    findings += _check_destructive_claims(spec)
    findings += _check_triggers(spec)
    findings += _check_communication(spec)
    return findings


def _check_procedures(spec: RollbackFields) -> list[Finding]:
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for i, proc in enumerate(spec.procedures):
        path = f"procedures[{i}]"
        if proc.type in seen:
            findings.append(
                error(
                    "duplicate_procedure_type",
                    f"procedure {i + 1} repeats type {proc.type!r} (first used by procedure "
                    f"{seen[proc.type] + 1}); merge them into one procedure per type",
                    f"{path}.type",
                )
            )
        else:
            seen[proc.type] = i
        best = proc.time_to_rollback_best_minutes
        if best is not None and best > proc.time_to_rollback_minutes:
            findings.append(
                error(
                    "time_range_inverted",
                    f"best case {best:g} min is longer than the stated worst case "
                    f"{proc.time_to_rollback_minutes:g} min; swap them",
                    f"{path}.time_to_rollback_best_minutes",
                )
            )
        reh = proc.rehearsal
        if reh is not None and reh.measured_minutes > proc.time_to_rollback_minutes:
            findings.append(
                warning(
                    "rehearsal_slower_than_stated",
                    f"the {PROCEDURE_NAMES[proc.type]} rehearsal on {reh.date.isoformat()} took "
                    f"{reh.measured_minutes:g} min but the procedure states "
                    f"{proc.time_to_rollback_minutes:g} min; raise time_to_rollback_minutes to the "
                    "measured time or speed the procedure up and rehearse again",
                    f"{path}.rehearsal.measured_minutes",
                )
            )
        findings += _check_stated_confidence(path, proc)
        if proc.data_loss_risk != "none" and not proc.data_loss_mitigation:
            findings.append(
                warning(
                    "data_loss_without_mitigation",
                    f"the {PROCEDURE_NAMES[proc.type]} procedure has {proc.data_loss_risk} data loss "
                    "but no mitigation; say how the lost data is recovered (e.g. snapshot before "
                    "rolling back)",
                    f"{path}.data_loss_mitigation",
                )
            )
        if proc.type == "database" and proc.data_loss_risk != "none":
            for j, step in enumerate(proc.steps):
                if any(_DOWN_MIGRATION.search(t) for t in (step.action, step.command or "")):
                    findings.append(
                        warning(
                            "destructive_database_rollback",
                            "the database rollback runs a down-migration that loses data written since "
                            "the release; use expand/contract instead: ship only additive schema "
                            "changes, roll back by redeploying the previous application version, and "
                            "drop old columns (contract) only after the rollback window has passed",
                            f"{path}.steps[{j}]",
                        )
                    )
                    break
    if overall_claims_without_rehearsal(spec):
        findings.append(
            warning(
                "confidence_without_rehearsal",
                f"overall confidence {spec.stated_confidence:.2f} is claimed but no procedure was "
                f"rehearsed, so the evidence supports at most {UNREHEARSED_CAP:.2f}; add rehearsal "
                "evidence or omit confidence to have it computed",
                "confidence",
            )
        )
    return findings


def _check_destructive_claims(spec: RollbackFields) -> list[Finding]:
    """A procedure that runs a data-destroying step (a down-migration of any common tool, DROP,
    TRUNCATE; see ``tools.destructive``) while it claims data_loss_risk none."""
    findings: list[Finding] = []
    for i, proc in enumerate(spec.procedures):
        if proc.data_loss_risk != "none":
            continue
        for j, step in enumerate(proc.steps):
            found = destructive(step.command) or destructive(step.action)
            if found is not None:
                findings.append(
                    error(
                        "destructive_step_claims_no_data_loss",
                        f"step {j + 1} of the {PROCEDURE_NAMES[proc.type]} procedure runs {found} "
                        f"({step.action!r}), which destroys what the release wrote, yet data_loss_risk is "
                        "'none'; set data_loss_risk to 'possible' or 'certain' with a data_loss_mitigation "
                        "(e.g. snapshot first), or replace the step with a rollback that keeps the data "
                        "(redeploy the previous version against an expand-only schema)",
                        f"procedures[{i}].data_loss_risk",
                    )
                )
                break
    return findings


def _check_stated_confidence(path: str, proc: RollbackProcedure) -> list[Finding]:
    """A stated confidence the spec alone shows is unsupported: never rehearsed, or rehearsed with issues.
    Other overstatements depend on the release plan (features, release day): see ``tools.review``."""
    name = PROCEDURE_NAMES[proc.type]
    evidence = evidence_procedure_confidence(proc)
    if claims_without_rehearsal(proc):
        return [
            warning(
                "confidence_without_rehearsal",
                f"the {name} procedure claims confidence {proc.confidence:.2f} but was never rehearsed, "
                f"so the evidence supports {evidence:.2f}; add rehearsal evidence or omit confidence to have "
                "it computed",
                f"{path}.confidence",
            )
        ]
    reh = proc.rehearsal
    if reh is not None and claims_despite_issues(proc):
        issues = "; ".join(real_issues(reh))
        return [
            warning(
                "confidence_despite_rehearsal_issues",
                f"the {name} procedure claims confidence {proc.confidence:.2f} but its rehearsal on "
                f"{reh.date.isoformat()} found issues ({issues}); a rehearsal with issues counts like none, "
                f"so the evidence supports {evidence:.2f}. Fix the issues and rehearse again (record the "
                "new rehearsal with no issues), or lower confidence or omit it to have it computed",
                f"{path}.confidence",
            )
        ]
    return []


def _check_triggers(spec: RollbackFields) -> list[Finding]:
    if any(t.window_minutes for t in spec.automatic_triggers):
        return []
    what = (
        "no automatic rollback trigger"
        if not spec.automatic_triggers
        else "no automatic trigger has a sustained window, so one noisy sample would roll back"
    )
    return [
        warning(
            "no_sustained_trigger",
            f"{what}; add one such as error_rate > 5 percent with window_minutes 5",
            "automatic_triggers",
        )
    ]


def _check_communication(spec: RollbackFields) -> list[Finding]:
    findings: list[Finding] = []
    for i, rule in enumerate(spec.communication.rules):
        lo, hi = rule.min_outage_minutes, rule.max_outage_minutes
        if lo is not None and hi is not None and lo >= hi:
            findings.append(
                error(
                    "outage_range_inverted",
                    f"min_outage_minutes {lo:g} is not below max_outage_minutes {hi:g}",
                    f"communication.rules[{i}].min_outage_minutes",
                )
            )
    return findings
