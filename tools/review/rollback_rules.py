"""Rules across the rollback strategy, the plan's features, the migrations and the runbook.

Evidence rules: a stated confidence is held to what the rehearsals support (``tools.rollback.model``
states the rule), with the release plan's target date deciding which rehearsals count.

The window a rollback must act in (``rollback_slower_than_window``): a migration path keeps the way
back open until its rollback window closes (``rollback_window_end``: its ``window_days``, or the
rollout's end when that is later); after that the contract or shutdown step removes what the previous
version needs. A procedure that undoes the change (it applies to 'all', names the change or what it
affects, or is the database procedure of a database change) must be able to finish inside that
window: if its time to roll back (the stated worst case, or the rehearsal's measured time when
slower) is longer than the whole window, not even a rollback started at the release finishes in time.
Rollout phases and automatic-trigger windows are not deadlines for a rollback (a halted phase does not
widen exposure, a trigger's window is how long a bad state must last before acting), so they are not
compared with the time to roll back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..base import ReleaseContext
from ..common import format_t_offset
from ..rollback import covers, release_features
from ..rollback.evidence import (
    UNREHEARSED_CAP,
    after_release,
    claims_despite_issues,
    claims_without_rehearsal,
    evidence_procedure_confidence,
    overall_claims_without_rehearsal,
    overstated,
    release_day,
)
from ..rollback.model import PROCEDURE_NAMES, WHOLE_RELEASE
from ..rollback.render import duration, evidence_reason
from ..runbook import REHEARSAL
from .engine import (
    MIGRATION,
    RELEASE_PLAN,
    ROLLBACK,
    ROLLOUT,
    RUNBOOK,
    Issue,
    RuleSet,
    migration_id,
    procedures,
)

RULES = RuleSet()

# ------------------------------------------------------------------ rollback, rollout and runbook


@RULES.rule(
    "flagged_feature_not_covered",
    "warning",
    reads={ROLLBACK, RELEASE_PLAN},
    points_at=ROLLBACK,
    fix="name the feature's flag in a feature_flag procedure",
)
def _flagged_feature_not_covered(ctx: ReleaseContext) -> Iterator[Issue]:
    if ctx.rollback is None:
        return
    flag_procs = [p for p in procedures(ctx) if p.type == "feature_flag"]
    for feature in release_features(ctx):
        flag = getattr(feature, "flag", None)
        if flag and not any(covers(p, feature) for p in flag_procs):
            yield Issue(
                f"feature {feature.name!r} has flag {flag!r} but no feature_flag procedure covers it; add "
                f"{flag!r} (or 'all') to the feature_flag procedure's applies_to",
                "procedures",
                frozenset({ROLLBACK, RELEASE_PLAN}),
            )


@RULES.rule(
    "feature_without_rollback",
    "warning",
    reads={ROLLBACK, RELEASE_PLAN},
    points_at=ROLLBACK,
    fix="name every shipped feature in some procedure's applies_to",
)
def _feature_without_rollback(ctx: ReleaseContext) -> Iterator[Issue]:
    stored = procedures(ctx)
    if ctx.rollback is None:
        return
    for feature in release_features(ctx):
        if not any(covers(p, feature) for p in stored):
            yield Issue(
                f"no procedure covers feature {feature.name!r}, so its rollback confidence counts as 0; "
                "name it (or its flag, or 'all') in some procedure's applies_to",
                "procedures",
                frozenset({ROLLBACK, RELEASE_PLAN}),
            )


@RULES.rule(
    "rollback_rehearsal_missing",
    "warning",
    reads={RUNBOOK, ROLLBACK},
    points_at=RUNBOOK,
    fix="rehearse the rollback, or put the rehearsal on the runbook's checklist",
)
def _rollback_rehearsal_missing(ctx: ReleaseContext) -> Iterator[Issue]:
    rollback, runbook = ctx.rollback, ctx.runbook
    if rollback is None or runbook is None or any(p.rehearsal is not None for p in procedures(ctx)):
        return
    if any(REHEARSAL.search(item) for s in getattr(runbook, "checklist", ()) for item in s.items):
        return
    yield Issue(
        "the rollback strategy has no rehearsal and the checklist does not ask for one; add an item such "
        "as 'Rollback procedure rehearsed in staging' and record the result with design_rollback",
        "checklist",
        frozenset({RUNBOOK, ROLLBACK}),
    )


# ------------------------------------------------------------------ evidence behind the confidence


def _name(proc: Any) -> str:
    return PROCEDURE_NAMES.get(getattr(proc, "type", ""), str(getattr(proc, "type", "")))


@RULES.rule(
    "confidence_above_evidence",
    "warning",
    reads={ROLLBACK, RELEASE_PLAN},
    points_at=ROLLBACK,
    fix="lower the stated confidence to the evidence figure or omit it, or add the missing evidence",
)
def _confidence_above_evidence(ctx: ReleaseContext) -> Iterator[Issue]:
    rollback = ctx.rollback
    if rollback is None:
        return
    day = release_day(ctx)
    for i, proc in enumerate(procedures(ctx)):
        # Never rehearsed, or rehearsed with issues: the spec's own checks say so already.
        if claims_without_rehearsal(proc) or claims_despite_issues(proc):
            continue
        evidence = evidence_procedure_confidence(proc, day)
        if overstated(proc.confidence, evidence):
            late = after_release(proc.rehearsal, day)
            yield Issue(
                f"the {_name(proc)} procedure states confidence {proc.confidence:.2f} but the evidence rule "
                f"gives {evidence:.2f} ({evidence_reason(proc, day)}); lower confidence to {evidence:.2f} or "
                "omit it to have it computed, or add the evidence (a rehearsal before the release that meets "
                "the stated time with no issues)",
                f"procedures[{i}].confidence",
                frozenset({ROLLBACK} | ({RELEASE_PLAN} if late else set())),
            )
    stated = getattr(rollback, "stated_confidence", None)
    if stated is None or overall_claims_without_rehearsal(rollback):
        return
    evidence = rollback.evidence_confidence(ctx)
    if overstated(stated, evidence):
        why, uncovered = _weakest(ctx, day)
        fix = (
            "name that feature (or its flag, or 'all') in some procedure's applies_to, or omit confidence"
            if uncovered
            else f"lower confidence to {evidence:.2f} or omit it to have it computed, or add the evidence "
            "(a rehearsal before the release that meets the stated time with no issues)"
        )
        yield Issue(
            f"overall confidence {stated:.2f} is stated but the evidence rule gives {evidence:.2f}: "
            f"{why}; {fix}",
            "confidence",
            frozenset({ROLLBACK} | ({RELEASE_PLAN} if ctx.plan is not None else set())),
        )


def _weakest(ctx: ReleaseContext, day: Any) -> tuple[str, bool]:
    """What limits the overall evidence figure (the least recoverable feature, or the best procedure),
    and whether that is a feature no procedure covers."""
    stored = procedures(ctx)

    def best(candidates: list[Any]) -> Any:
        return max(candidates, key=lambda p: evidence_procedure_confidence(p, day), default=None)

    features = release_features(ctx)
    if features:
        scored = [(f, best([p for p in stored if covers(p, f)])) for f in features]
        feature, proc = min(
            scored, key=lambda fp: 0.0 if fp[1] is None else evidence_procedure_confidence(fp[1], day)
        )
        if proc is None:
            return f"no procedure covers feature {feature.name!r}, so it counts as 0", True
        return (
            f"feature {feature.name!r} is covered at best by the {_name(proc)} procedure at "
            f"{evidence_procedure_confidence(proc, day):.2f} ({evidence_reason(proc, day)})"
        ), False
    whole = [p for p in stored if any(a.casefold() == WHOLE_RELEASE for a in p.applies_to)]
    proc = best(whole or stored)
    return (
        f"the best {'whole-release ' if whole else ''}procedure, {_name(proc)}, gets "
        f"{evidence_procedure_confidence(proc, day):.2f} ({evidence_reason(proc, day)})"
    ), False


@RULES.rule(
    "rehearsal_after_release",
    "warning",
    reads={ROLLBACK, RELEASE_PLAN},
    points_at=ROLLBACK,
    fix="rehearse before the release day and record that rehearsal, or correct the date",
)
def _rehearsal_after_release(ctx: ReleaseContext) -> Iterator[Issue]:
    day = release_day(ctx)
    if ctx.rollback is None or day is None:
        return
    for i, proc in enumerate(procedures(ctx)):
        reh = proc.rehearsal
        if after_release(reh, day):
            yield Issue(
                f"the {_name(proc)} rehearsal is dated {reh.date.isoformat()}, after the release on "
                f"{day.isoformat()}, so it is no evidence for this release: the procedure counts as "
                f"unrehearsed (confidence at most {UNREHEARSED_CAP:.2f}). If it already happened, correct "
                "its date; otherwise rehearse before the release day and record it then, and remove it "
                "until it has happened",
                f"procedures[{i}].rehearsal.date",
                frozenset({ROLLBACK, RELEASE_PLAN}),
            )


# ------------------------------------------------------------------ the window a rollback acts in


def _undoes(proc: Any, migration: Any, ctx: ReleaseContext) -> bool:
    """Whether ``proc`` is a way back from ``migration``'s change (see the module docstring)."""
    targets = {str(a).casefold() for a in getattr(proc, "applies_to", ())}
    if WHOLE_RELEASE in targets:
        return True
    planned = migration.planned_change(ctx)
    names = {str(migration.change).casefold()}
    names |= {str(a).casefold() for a in getattr(migration, "affects", ())}
    names |= {str(a).casefold() for a in getattr(planned, "affects", ())}
    if targets & names:
        return True
    return getattr(proc, "type", None) == "database" and migration.effective_change_type(ctx) == "database"


@RULES.rule(
    "rollback_slower_than_window",
    "warning",
    reads={ROLLBACK, MIGRATION, RELEASE_PLAN, ROLLOUT},
    points_at=ROLLBACK,
    fix="make the procedure fit the rollback window, or keep the way back open longer",
)
def _rollback_slower_than_window(ctx: ReleaseContext) -> Iterator[Issue]:
    if ctx.rollback is None:
        return
    for migration in ctx.migrations:
        close = migration.rollback_window_end(ctx)
        if close is None or close <= 0:
            continue  # no window after the release: nothing to fit a rollback into
        stated = getattr(getattr(migration, "rollback_plan", None), "window_days", None)
        source = (
            f"its rollback window of {stated} day{'s' if stated != 1 else ''}"
            if stated == close
            else "the rollout's end"
        )
        for i, proc in enumerate(procedures(ctx)):
            if not _undoes(proc, migration, ctx):
                continue
            measured = getattr(proc.rehearsal, "measured_minutes", 0) or 0
            minutes = max(proc.time_to_rollback_minutes, measured)
            if minutes <= close * 24 * 60:
                continue
            how = "the rehearsal took" if measured > proc.time_to_rollback_minutes else "it takes up to"
            yield Issue(
                f"the {_name(proc)} procedure undoes {migration.change!r}, and {how} {duration(minutes)}, "
                f"but the way back from {migration.change!r} closes at {format_t_offset(close)} "
                f"({source}), so not even a rollback started at the release finishes in time; make the "
                "procedure faster (or add a faster one for this change), or keep the previous version "
                f"working longer (rollback_plan.window_days of design_migration_path at least "
                f"{-(-minutes // (24 * 60)):g}, with the contract or shutdown phase after it)",
                f"procedures[{i}].time_to_rollback_minutes",
                frozenset(
                    {ROLLBACK, migration_id(migration)}
                    | ({RELEASE_PLAN} if ctx.plan is not None else set())
                    | ({ROLLOUT} if ctx.rollout is not None and stated != close else set())
                ),
            )
