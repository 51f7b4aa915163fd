"""Rules across the rollout and the rollback: the safety net between halting and rolling back.

A halt threshold and an automatic rollback trigger are two halves of one net: the rollout stops
exposing more users, the rollback takes back the ones exposed. Each half must have the other, with
the same threshold, and must be able to fire inside the phases it guards. Metrics are matched by
name whatever the spelling (``names.metric_key``) and in units of one quantity (``in_base_unit``),
so ``error_rate > 5 percent`` and ``errorRate > 0.05 ratio`` are one condition.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from .. import names
from ..base import ReleaseContext
from ..common import in_base_unit
from ..rollout.model import fmt_hours
from .engine import (
    ROLLBACK,
    ROLLOUT,
    Issue,
    RuleSet,
)

RULES = RuleSet()

BOTH = frozenset({ROLLOUT, ROLLBACK})


def _halts(ctx: ReleaseContext) -> list[Any]:
    return list(getattr(ctx.rollout, "halt_threshold", None) or [])


def _triggers(ctx: ReleaseContext) -> list[Any]:
    return list(getattr(ctx.rollback, "automatic_triggers", None) or [])


def _same_metric(a: Any, b: Any) -> bool:
    """One metric in units of one quantity (percent and ratio, ms and seconds), however spelled."""
    return (
        names.metric_key(a.metric) == names.metric_key(b.metric)
        and in_base_unit(a.threshold, a.unit)[0] == in_base_unit(b.threshold, b.unit)[0]
    )


def _unmatched_hint(cond: Any, others: list[Any], where: str) -> str:
    """Why ``cond`` matched none of ``others``: a same-named one in another quantity, or a near miss."""
    for other in others:
        if names.metric_key(other.metric) == names.metric_key(cond.metric):
            return (
                f"; {where} has {other.describe()}, the same name in a unit of another quantity "
                f"({other.unit} vs {cond.unit}): state both in one unit"
            )
    near = names.closest(cond.metric, [o.metric for o in others], keyed=names.metric_key)
    return f"; did you mean {near!r}, which {where} uses?" if near else ""


@RULES.rule(
    "halt_threshold_disagrees_with_rollback",
    "warning",
    reads={ROLLOUT, ROLLBACK},
    points_at=ROLLOUT,
    fix="use one threshold for the rollout's halt and the rollback's trigger",
)
def _halt_threshold_disagrees(ctx: ReleaseContext) -> Iterator[Issue]:
    triggers = _triggers(ctx)
    for h_i, halt in enumerate(_halts(ctx)):
        for trig in triggers:
            if not _same_metric(halt, trig):
                continue
            halt_at, trig_at = (
                in_base_unit(halt.threshold, halt.unit),
                in_base_unit(trig.threshold, trig.unit),
            )
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
                    BOTH,
                )


@RULES.rule(
    "halt_without_rollback_trigger",
    "warning",
    reads={ROLLOUT, ROLLBACK},
    points_at=ROLLOUT,
    fix="add the halt's condition to the rollback strategy's automatic triggers",
)
def _halt_without_trigger(ctx: ReleaseContext) -> Iterator[Issue]:
    if ctx.rollback is None:
        return
    triggers = _triggers(ctx)
    for h_i, halt in enumerate(_halts(ctx)):
        if any(_same_metric(halt, trig) for trig in triggers):
            continue
        yield Issue(
            f"the rollout halts on {halt.describe()} but the rollback strategy has no automatic trigger on "
            "that metric, so a halt stops new exposure while the users already exposed stay on the bad "
            f"version{_unmatched_hint(halt, triggers, 'the rollback strategy')}; add {halt.describe()} to "
            "automatic_triggers with design_rollback, or drop this halt",
            f"halt_threshold[{h_i}]",
            BOTH,
        )


@RULES.rule(
    "rollback_trigger_not_halted",
    "warning",
    reads={ROLLOUT, ROLLBACK},
    points_at=ROLLBACK,
    fix="add the trigger's condition to the rollout's halt_threshold",
)
def _trigger_not_halted(ctx: ReleaseContext) -> Iterator[Issue]:
    if ctx.rollout is None:
        return
    halts = _halts(ctx)
    for t_i, trig in enumerate(_triggers(ctx)):
        if any(_same_metric(trig, halt) for halt in halts):
            continue
        yield Issue(
            f"the rollback strategy rolls back on {trig.describe()} but the rollout does not halt on that "
            "metric, so it may go on to the next phase while the rollback is under way"
            f"{_unmatched_hint(trig, halts, 'the rollout')}; add {trig.describe()} to the rollout's "
            "halt_threshold with plan_rollout, or drop this trigger",
            f"automatic_triggers[{t_i}]",
            BOTH,
        )


def _timed_phases(ctx: ReleaseContext) -> list[tuple[float, int, Any]]:
    """(minutes, index, phase) of every phase with a duration, shortest first."""
    out = []
    for i, phase in enumerate(getattr(ctx.rollout, "phases", None) or []):
        hours = getattr(phase, "duration_hours", None)
        if hours:
            out.append((hours * 60, i, phase))
    return sorted(out, key=lambda t: (t[0], t[1]))


@RULES.rule(
    "trigger_window_exceeds_phase",
    "warning",
    reads={ROLLOUT, ROLLBACK},
    points_at=ROLLBACK,
    fix="shorten the trigger's window to fit the shortest phase it guards",
)
def _trigger_window_exceeds_phase(ctx: ReleaseContext) -> Iterator[Issue]:
    timed = _timed_phases(ctx)
    for t_i, trig in enumerate(_triggers(ctx)):
        window = trig.window_minutes
        short = [(minutes, i, p) for minutes, i, p in timed if window is not None and window > minutes]
        if not short:
            continue
        minutes, i, phase = short[0]
        others = (
            f" (and {len(short) - 1} more phase{'s' if len(short) > 2 else ''})" if len(short) > 1 else ""
        )
        yield Issue(
            f"the automatic trigger {trig.describe()} needs {window} minutes of bad readings but phase "
            f"{i + 1} '{phase.name}' of the rollout lasts {fmt_hours(phase.duration_hours)}{others}, so the "
            "go/no-go call moves the rollout on before the trigger can fire; shorten window_minutes to at "
            f"most {minutes:g} (design_rollback) or lengthen the phase",
            f"automatic_triggers[{t_i}].window_minutes",
            BOTH,
        )
