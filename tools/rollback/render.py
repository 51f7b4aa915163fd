"""The rollback strategy as Markdown, as plain functions of its fields.

The sections follow the skill's template: decision criteria, procedures, testing, communication and
confidence levels. The text helpers below (durations, levels, ranges) are only for this Markdown.
"""

from __future__ import annotations

import datetime as dt

from ..base import ReleaseContext
from ..markdown import bullets, escape_html, fenced, inline_code, numbered
from .evidence import (
    DATA_LOSS_CAP,
    UNREHEARSED_CAP,
    after_release,
    evidence_procedure_confidence,
    overstated,
    procedure_confidence,
    real_issues,
    release_day,
)
from .model import (
    PROCEDURE_NAMES,
    WHOLE_RELEASE,
    NotificationRule,
    RollbackFields,
    RollbackProcedure,
    RollbackStep,
)


def title(spec: RollbackFields) -> str:
    return f"Rollback Strategy: v{spec.version}"


def render(spec: RollbackFields, ctx: ReleaseContext) -> str:
    parts = [f"# {title(spec)}"]
    parts += _render_criteria(spec)
    parts += _render_procedures(spec)
    parts += _render_testing(spec)
    parts += _render_communication(spec)
    parts += _render_confidence(spec, ctx)
    return escape_html("\n\n".join(parts) + "\n")


def _render_criteria(spec: RollbackFields) -> list[str]:
    blocks: list[str] = []
    if spec.automatic_triggers:
        blocks.append(
            "**Automatic Rollback Triggers:**\n" + bullets(t.describe() for t in spec.automatic_triggers)
        )
    if spec.manual_triggers:
        blocks.append("**Manual Rollback Triggers:**\n" + bullets(spec.manual_triggers))
    return ["## Rollback Decision Criteria", *blocks] if blocks else []


def _render_procedures(spec: RollbackFields) -> list[str]:
    out = ["## Rollback Procedures"]
    last = len(spec.procedures) - 1
    for i, proc in enumerate(spec.procedures):
        role = "Preferred" if i == 0 else ("Last Resort" if i == last else "If Needed")
        out.append(f"### Rollback Type {i + 1}: {PROCEDURE_NAMES[proc.type]} ({role})")
        out.append(
            bullets(
                [
                    f"**Complexity:** {level_text(proc.complexity)}",
                    f"**Time to rollback:** {time_range(proc)}",
                    f"**Risk:** {level_text(proc.risk)}",
                    f"**Applies to:** {applies_text(proc.applies_to)}",
                ]
            )
        )
        out.append("**Procedure:**\n" + numbered(_step_text(s) for s in proc.steps))
        if proc.prerequisites:
            out.append("**Prerequisites:**\n" + bullets(proc.prerequisites))
        loss = f"**Data Loss Risk:** {proc.data_loss_risk.capitalize()}"
        if proc.data_loss_mitigation:
            loss += "\n" + bullets([f"Mitigation: {proc.data_loss_mitigation}"])
        out.append(loss)
        out.append("**Testing:**\n" + bullets([_testing_line(proc)]))
    return out


def _render_testing(spec: RollbackFields) -> list[str]:
    out: list[str] = []
    for i, proc in enumerate(spec.procedures):
        reh = proc.rehearsal
        if reh is None:
            continue
        name = f"Type {i + 1}, {PROCEDURE_NAMES[proc.type]}"
        lines = [f"Conducted: {reh.date.isoformat()}" + (f" ({reh.environment})" if reh.environment else "")]
        if reh.participants:
            lines.append("Participants: " + ", ".join(reh.participants))
        issues = real_issues(reh)
        lines.append("Issues found: " + ("; ".join(issues) if issues else "None"))
        verdict = "within" if reh.measured_minutes <= proc.time_to_rollback_minutes else "SLOWER than"
        lines.append(
            f"Rollback time: {duration(reh.measured_minutes)} ({verdict} the stated "
            f"{duration(proc.time_to_rollback_minutes)})"
        )
        out.append(f"**Rollback rehearsal ({name}):**\n" + bullets(lines))
    never = [
        f"Type {i + 1}, {PROCEDURE_NAMES[p.type]}"
        for i, p in enumerate(spec.procedures)
        if p.rehearsal is None
    ]
    if never:
        out.append("**Not rehearsed:** " + "; ".join(never))
    return ["## Rollback Testing", *out]


def _render_communication(spec: RollbackFields) -> list[str]:
    comm = spec.communication
    out: list[str] = []
    if comm.internal_template:
        label = f"Internal ({comm.internal_channel})" if comm.internal_channel else "Internal"
        out.append(f"**{label}:**\n" + fenced(comm.internal_template))
    elif comm.internal_channel:
        out.append(f"**Internal:** {comm.internal_channel}")
    if comm.external_template:
        label = f"External ({comm.external_channel})" if comm.external_channel else "External"
        out.append(f"**{label}:**\n" + fenced(comm.external_template))
    elif comm.external_channel:
        out.append(f"**External:** {comm.external_channel}")
    if comm.rules:
        lines = []
        for rule in comm.rules:
            line = f"{outage_text(rule)}: "
            if rule.channels:
                line += ", ".join(rule.channels) + (f" to {rule.audience}" if rule.audience else "")
            else:
                line += "no notification needed"
            if rule.message:
                line += "\n" + fenced(rule.message)
            lines.append(line)
        out.append("**Customer notification:**\n" + bullets(lines))
    return ["## Rollback Communication", *out] if out else []


def _render_confidence(spec: RollbackFields, ctx: ReleaseContext) -> list[str]:
    day = release_day(ctx)
    lines = []
    for i, proc in enumerate(spec.procedures):
        lines.append(
            f"**Type {i + 1} ({PROCEDURE_NAMES[proc.type]}):** {procedure_confidence(proc, day):.2f} - "
            f"{confidence_reason(proc, day)}"
        )
    overall, evidence = spec.overall_confidence(ctx), spec.evidence_confidence(ctx)
    line = f"**Overall Rollback Confidence:** {overall:.2f}"
    if overstated(overall, evidence):
        line += f" (the evidence supports {evidence:.2f})"
    lines.append(line)
    return ["## Confidence Levels", bullets(lines), f"Rule: {spec.rule(ctx)}"]


def confidence_reason(proc: RollbackProcedure, day: dt.date | None = None) -> str:
    """Why a procedure has its confidence; for a stated one, what the evidence supports when less."""
    evidence = evidence_procedure_confidence(proc, day)
    if proc.confidence is not None:
        why = "stated" + ("" if proc.rehearsal else ", not rehearsed")
        if overstated(proc.confidence, evidence):
            why += f"; the evidence supports {evidence:.2f} ({evidence_reason(proc, day)})"
        return why
    return evidence_reason(proc, day)


def evidence_reason(proc: RollbackProcedure, day: dt.date | None) -> str:
    """Why the evidence gives a procedure its figure (rehearsal, caps), ignoring a stated confidence."""
    reh = proc.rehearsal
    if reh is None:
        why = f"not rehearsed, capped at {UNREHEARSED_CAP:.2f}"
    elif reh.measured_minutes > proc.time_to_rollback_minutes:
        why = f"rehearsal slower than stated, capped at {UNREHEARSED_CAP:.2f}"
    elif real_issues(reh):
        why = f"rehearsal found issues, capped at {UNREHEARSED_CAP:.2f}"
    elif after_release(reh, day):
        why = (
            f"rehearsal dated {reh.date.isoformat()}, after the release day {day}, "
            f"capped at {UNREHEARSED_CAP:.2f}"
        )
    else:
        complexity = level_text(proc.complexity).lower()
        why = f"rehearsed {reh.date.isoformat()} within the stated time, {complexity} complexity"
    if proc.data_loss_risk != "none":
        why += f"; data loss {proc.data_loss_risk}, capped at {DATA_LOSS_CAP[proc.data_loss_risk]:.2f}"
    return why


# --- Markdown helpers ------------------------------------------------------------------------------


def level_text(level: str) -> str:
    return level.replace("_", " ").capitalize()


def duration(minutes: float) -> str:
    if minutes < 1:
        seconds = minutes * 60
        return f"{seconds:g} second" + ("" if seconds == 1 else "s")
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes / 60:g} hours"
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")


def time_range(proc: RollbackProcedure) -> str:
    hi, lo = proc.time_to_rollback_minutes, proc.time_to_rollback_best_minutes
    if lo is None:
        return f"up to {duration(hi)}"
    if hi >= 120 and hi % 60 == 0 and lo % 60 == 0:
        return f"{lo / 60:g}-{hi / 60:g} hours"
    return f"{lo:g}-{hi:g} minutes"


def applies_text(applies_to: list[str]) -> str:
    return ", ".join(
        "all features in this release" if a.casefold() == WHOLE_RELEASE else a for a in applies_to
    )


def outage_text(rule: NotificationRule) -> str:
    lo, hi = rule.min_outage_minutes, rule.max_outage_minutes
    if lo is not None and hi is not None:
        return f"If the outage is over {duration(lo)} and up to {duration(hi)}"
    if lo is not None:
        return f"If the outage is over {duration(lo)}"
    if hi is not None:
        return f"If the outage is up to {duration(hi)}"
    return "Any outage"


def _step_text(step: RollbackStep) -> str:
    if step.command is None:
        return step.action
    if "\n" in step.command:
        return f"{step.action}\n{fenced(step.command, 'bash')}"
    return f"{step.action}: {inline_code(step.command)}"


def _testing_line(proc: RollbackProcedure) -> str:
    reh = proc.rehearsal
    if reh is None:
        return "Not rehearsed yet"
    where = f" in {reh.environment}" if reh.environment else ""
    return f"Rehearsed {reh.date.isoformat()}{where}: {duration(reh.measured_minutes)}"
