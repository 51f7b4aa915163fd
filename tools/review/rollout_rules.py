"""Rules across the rollout and the rollback: the safety net between halting and rolling back."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..base import ReleaseContext
from ..common import in_base_unit
from .engine import (
    ROLLBACK,
    ROLLOUT,
    Issue,
    RuleSet,
)

RULES = RuleSet()


@RULES.rule(
    "halt_threshold_disagrees_with_rollback",
    "warning",
    reads={ROLLOUT, ROLLBACK},
    points_at=ROLLOUT,
    fix="use one threshold for the rollout's halt and the rollback's trigger",
)
def _halt_threshold_disagrees(ctx: ReleaseContext) -> Iterator[Issue]:
    triggers = list(getattr(ctx.rollback, "automatic_triggers", None) or [])
    for h_i, halt in enumerate(getattr(ctx.rollout, "halt_threshold", None) or []):
        for trig in triggers:
            halt_at, trig_at = (
                in_base_unit(halt.threshold, halt.unit),
                in_base_unit(trig.threshold, trig.unit),
            )
            if trig.metric != halt.metric or halt_at[0] != trig_at[0]:
                continue
            # A missing window is "unspecified" here, so only two stated windows can disagree.
            windows_differ = None not in (halt.window_minutes, trig.window_minutes) and (
                halt.window_minutes != trig.window_minutes
            )
            same_threshold = math.isclose(halt_at[1], trig_at[1], rel_tol=1e-9, abs_tol=1e-12)
            if halt.comparator != trig.comparator or not same_threshold or windows_differ:
                yield Issue(
                    f"the halt threshold {halt.describe()} disagrees with the rollback strategy's automatic "
                    f"trigger {trig.describe()}; use one threshold in both (change halt_threshold with "
                    "plan_rollout or the trigger with design_rollback)",
                    f"halt_threshold[{h_i}]",
                    frozenset({ROLLOUT, ROLLBACK}),
                )
