"""Rules across the rollout, the rollback strategy and the gate decisions: running the plan in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import decision
from ..base import ReleaseContext
from ..decision import norm, phase_number, sequence
from .engine import ROLLBACK, ROLLOUT, Issue, RuleSet, artifact_id, procedures

RULES = RuleSet()
DECISION = decision.KIND.name


def _decision_id(spec: Any) -> str:
    return artifact_id(DECISION, decision.KIND.key(spec) if decision.KIND.key else None)


def _phase_names(rollout: Any) -> str:
    return ", ".join(f"{i} {p.name!r}" for i, p in enumerate(rollout.phases, start=1))


@RULES.rule(
    "decision_for_unknown_phase",
    "error",
    reads={DECISION, ROLLOUT},
    points_at=DECISION,
    fix="name a phase of the stored rollout plan, by its name or number",
)
def _unknown_phase(ctx: ReleaseContext) -> Iterator[Issue]:
    for d in ctx.decisions:
        if ctx.rollout is None:
            yield Issue(
                f"release {ctx.version} has no rollout plan, so there is no phase {d.phase!r} to decide; "
                "call plan_rollout first",
                "phase",
                frozenset({_decision_id(d)}),
            )
        elif phase_number(ctx.rollout, d.phase) is None:
            yield Issue(
                f"the rollout plan has no phase {d.phase!r}; its phases are {_phase_names(ctx.rollout)}",
                "phase",
                frozenset({_decision_id(d), ROLLOUT}),
            )


@RULES.rule(
    "decision_out_of_order",
    "error",
    reads={DECISION, ROLLOUT},
    points_at=DECISION,
    fix="decide the phase under way: each phase's gate says go before the next phase is decided",
)
def _out_of_order(ctx: ReleaseContext) -> Iterator[Issue]:
    if ctx.rollout is None:
        return
    for step in sequence(list(ctx.decisions), ctx.rollout).steps:
        if step.problem is not None and step.phase is not None:
            d = step.decision
            yield Issue(
                f"a {d.decision} decision for phase {step.phase} at {d.stamp()} is out of order: "
                f"{step.problem}",
                "phase",
                frozenset({_decision_id(d), ROLLOUT}),
            )


@RULES.rule(
    "unknown_rollback_procedure",
    "error",
    reads={DECISION, ROLLBACK},
    points_at=DECISION,
    fix="name a procedure of the stored rollback strategy by its type",
)
def _unknown_procedure(ctx: ReleaseContext) -> Iterator[Issue]:
    stored = procedures(ctx)
    types = sorted({p.type for p in stored})
    for d in ctx.decisions:
        if d.decision != "rollback" or not d.rollback_procedure:
            continue
        if not stored:
            yield Issue(
                f"the rollback decision names procedure {d.rollback_procedure!r}, but release "
                f"{ctx.version} has no rollback strategy; call design_rollback first",
                "rollback_procedure",
                frozenset({_decision_id(d)}),
            )
        elif norm(d.rollback_procedure) not in {norm(t) for t in types}:
            yield Issue(
                f"the rollback strategy has no {d.rollback_procedure!r} procedure; it has {', '.join(types)}",
                "rollback_procedure",
                frozenset({_decision_id(d), ROLLBACK}),
            )
