"""Running the plan: a go/no-go decision at a phase's gate (tool ``record_decision``).

Decisions are artifacts like the plan's, many per release, and they move the release: its task goes
``inprogress`` at the first decision, ``done`` (with engram's end_time) after a go at the last phase,
and ``cancelled`` on a rollback. The package: ``model`` (the fields, phase lookup and the sequence of
decisions), ``checks`` (a decision's own findings) and ``render`` (Markdown); whether a decision fits
the rollout and the decisions before it is a review rule (``tools.review.execution_rules``).
"""

from __future__ import annotations

from typing import Any

from ..base import ArtifactKind, Finding, ReleaseContext, TaskMove
from . import checks, render
from .model import DecisionFields, chronological, norm, phase_name, phase_number, sequence

__all__ = [
    "KIND",
    "DecisionSpec",
    "chronological",
    "norm",
    "phase_name",
    "phase_number",
    "release_move",
    "sequence",
]


class DecisionSpec(DecisionFields):
    """A go, hold or rollback decision at the gate of one rollout phase."""

    def title(self, ctx: ReleaseContext) -> str:
        return render.title(self, ctx.rollout)

    def confidence(self, ctx: ReleaseContext) -> float | None:
        # The confidence level of the test behind it when the decision follows it; a judgment
        # without (or against) a computed evaluation is recorded as an even call.
        evidence = self.evidence
        if evidence is not None and evidence.decision == self.decision:
            return round(1 - evidence.alpha, 6)
        return 0.5

    def computed(self, ctx: ReleaseContext) -> dict[str, Any]:
        order = sequence(list(ctx.decisions), ctx.rollout)
        return {
            "phase_number": phase_number(ctx.rollout, self.phase),
            "phases_passed": order.passed,
            "release_ended": order.ended,
        }

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        return checks.check(self)

    def render(self, ctx: ReleaseContext) -> str:
        return render.render(self, ctx)


def release_move(ctx: ReleaseContext) -> TaskMove | None:
    """The release task's state the decisions imply: none yet, under way, done or cancelled."""
    decisions = list(ctx.decisions)
    if not decisions:
        return None
    order = sequence(decisions, ctx.rollout)
    last = order.last
    if order.ended == "done":
        return TaskMove(
            "done", end_time=last.stamp(), outcome=f"rolled out: {last.decided_by} said go at the last gate"
        )
    if order.ended == "cancelled":
        how = f" with the {last.rollback_procedure} procedure" if last.rollback_procedure else ""
        where = phase_name(ctx.rollout, last.phase)
        outcome = f"rolled back at phase {where}{how}, decided by {last.decided_by}"
        return TaskMove("cancelled", outcome=outcome)
    return TaskMove("inprogress")


KIND = ArtifactKind(
    name="gate_decision",
    spec=DecisionSpec,
    entity_type="reasoning",
    title_prefix="Gate Decision:",
    tag="decision",
    link_type="documents",
    tool="record_decision",
    tool_title="Record a go/no-go decision",
    next_step="get_release_status for where the release stands and the next gate",
    slot="decisions",
    reads=frozenset({"rollout_plan"}),
    many=True,
    key=lambda spec: spec.identity(),
    moves_release=release_move,
)
