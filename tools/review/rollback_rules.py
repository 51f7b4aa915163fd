"""Rules across the rollback strategy, the plan's features and the runbook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..base import ReleaseContext
from ..rollback import covers, release_features
from ..runbook import REHEARSAL
from .engine import (
    RELEASE_PLAN,
    ROLLBACK,
    RUNBOOK,
    Issue,
    RuleSet,
)

RULES = RuleSet()

# ------------------------------------------------------------------ rollback, rollout and runbook


def _procedures(ctx: ReleaseContext) -> list[Any]:
    # Read with getattr, like every slot of another artifact: a rule must not fail on a partial one.
    return list(getattr(ctx.rollback, "procedures", None) or [])


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
    flag_procs = [p for p in _procedures(ctx) if p.type == "feature_flag"]
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
    procedures = _procedures(ctx)
    if ctx.rollback is None:
        return
    for feature in release_features(ctx):
        if not any(covers(p, feature) for p in procedures):
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
    if rollback is None or runbook is None or any(p.rehearsal is not None for p in _procedures(ctx)):
        return
    if any(REHEARSAL.search(item) for s in getattr(runbook, "checklist", ()) for item in s.items):
        return
    yield Issue(
        "the rollback strategy has no rehearsal and the checklist does not ask for one; add an item such "
        "as 'Rollback procedure rehearsed in staging' and record the result with design_rollback",
        "checklist",
        frozenset({RUNBOOK, ROLLBACK}),
    )
