"""The runbook's own checks: unique, ordered steps, smoke tests, an on-call contact, no down-migrations."""

from __future__ import annotations

import re

from ..base import Finding, error, warning
from ..destructive import destructive
from .model import DeploymentStep, RunbookFields, display_offset

_ON_CALL = re.compile(r"on[\s-]?call", re.IGNORECASE)


def check(spec: RunbookFields) -> list[Finding]:
    findings: list[Finding] = []
    findings += _check_steps(spec)
    if not spec.smoke_tests:
        findings.append(
            warning(
                "no_smoke_tests",
                "the runbook has no smoke tests; add checks to run right after the deploy (e.g. the "
                "health endpoint returns 200, login works)",
                "smoke_tests",
            )
        )
    if not any(_ON_CALL.search(c.role) for c in spec.contacts):
        findings.append(
            warning(
                "no_on_call_contact",
                "no contact has an on-call role; add one such as role 'On-Call Primary' with a phone number",
                "contacts",
            )
        )
    findings += _check_down_migrations(spec)
    return findings


def _check_steps(spec: RunbookFields) -> list[Finding]:
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    latest: DeploymentStep | None = None
    for i, step in enumerate(spec.steps):
        key = step.name.casefold()
        if key in seen:
            findings.append(
                error(
                    "duplicate_step_name",
                    f"step {i + 1} repeats the name {step.name!r} of step {seen[key] + 1}; give each "
                    "step its own name or merge them",
                    f"steps[{i}].name",
                )
            )
        else:
            seen[key] = i
        if latest is not None and step.minutes < latest.minutes:
            findings.append(
                warning(
                    "steps_out_of_order",
                    f"step {i + 1} {step.name!r} at {display_offset(step.minutes)} comes after "
                    f"{latest.name!r} at {display_offset(latest.minutes)}; list steps in time order or "
                    "fix the time",
                    f"steps[{i}].at",
                )
            )
        if latest is None or step.minutes >= latest.minutes:
            latest = step
    return findings


def _check_down_migrations(spec: RunbookFields) -> list[Finding]:
    places: list[tuple[str, str]] = []
    for i, step in enumerate(spec.steps):
        places += [(f"steps[{i}].actions[{j}]", t) for j, t in enumerate(step.actions)]
        places += [(f"steps[{i}].commands[{j}]", t) for j, t in enumerate(step.commands)]
    for i, entry in enumerate(spec.troubleshooting):
        places += [(f"troubleshooting[{i}].resolution[{j}]", t) for j, t in enumerate(entry.resolution)]
    findings: list[Finding] = []
    for path, text in places:
        found = destructive(text)
        if found is not None:
            findings.append(
                warning(
                    "down_migration_in_runbook",
                    f"the runbook runs {found}, which destroys data written since the release; point "
                    "this at the rollback strategy's procedure instead (design_rollback) and plan schema "
                    "changes as expand/contract so a rollback is a redeploy of the previous version",
                    path,
                )
            )
    return findings
