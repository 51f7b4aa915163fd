"""Where a release stands while it rolls out: the phase under way, the next gate, what is late.

Read from the stored rollout plan (its timeline) and the gate decisions (their sequence), against the
planner's clock. Nothing here writes: decisions move the release (``tools.decision``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .decision import KIND as DECISION
from .decision import chronological, phase_name, phase_number, sequence
from .loading import ReleaseLoader, ReleaseState, status_of
from .results import DecisionRef, PhaseStatus, ReleaseStatusView


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _late(due: datetime, now: datetime) -> str:
    hours = (now - due).total_seconds() / 3600
    return f"{hours:.0f} h late" if hours < 48 else f"{hours / 24:.0f} days late"


def status_line(ctx: Any) -> str | None:
    """One sentence on the rollout's progress for the release's Markdown and summary; None before any
    decision."""
    decisions = list(ctx.decisions)
    if not decisions or ctx.rollout is None:
        return None
    order = sequence(decisions, ctx.rollout)
    total = len(ctx.rollout.phases)
    if order.ended == "done":
        return f"Rolled out: all {total} phases passed their gates ({len(decisions)} decision(s) recorded)."
    if order.ended == "cancelled":
        return (
            f"Rolled back at phase {phase_name(ctx.rollout, order.last.phase)} "
            f"({len(decisions)} decision(s) recorded)."
        )
    current = order.passed + 1
    return (
        f"Rolling out: phase {current} of {total} ({ctx.rollout.phases[current - 1].name}) under way, "
        f"{order.passed} passed ({len(decisions)} decision(s) recorded)."
    )


class ReleaseTracker:
    """``get_release_status``."""

    def __init__(self, loader: ReleaseLoader, clock: Callable[[], datetime] | None = None) -> None:
        self.loader = loader
        self.clock = clock or (lambda: datetime.now(UTC))

    def status(self, version: str) -> ReleaseStatusView:
        state = self.loader.read(version)
        ctx = state.context()
        now = self.clock()
        view = ReleaseStatusView(release=state.version, status=status_of(state.task))
        view.decisions = self._decisions(state, ctx.rollout)
        rollout = ctx.rollout
        if rollout is None:
            view.summary = f"Release {state.version} has no rollout plan yet, so nothing can run."
            view.next_steps = ["call plan_rollout"]
            return view
        order = sequence(list(ctx.decisions), rollout)
        windows = rollout.timeline()
        rolled_back_at = (
            phase_name(rollout, order.last.phase) if order.ended == "cancelled" and order.last else None
        )
        for w in windows:
            n = w.index + 1
            if n <= order.passed:
                state_of = "passed"
            elif rolled_back_at == w.phase.name:
                state_of = "rolled_back"
            elif order.ended is None and n == order.passed + 1:
                state_of = "current"
            else:
                state_of = "upcoming"
            view.phases.append(
                PhaseStatus(
                    phase=w.phase.name,
                    phase_number=n,
                    percent=w.phase.percent,
                    start=_when(w.start),
                    end=_when(w.end),
                    state=state_of,  # type: ignore[arg-type]
                )
            )
        if order.ended is None:
            current = windows[order.passed]
            view.current_phase, view.current_phase_number = current.phase.name, order.passed + 1
            view.next_gate, view.next_gate_due = current.phase.name, _when(current.end)
            if not view.decisions and current.start is not None and current.start < now:
                view.overdue.append(
                    f"the rollout was due to start at {_when(current.start)} ({_late(current.start, now)}) "
                    "and no decision is recorded"
                )
            if current.end is not None and current.end < now:
                view.overdue.append(
                    f"phase {order.passed + 1} ({current.phase.name}) was due to end at {_when(current.end)} "
                    f"({_late(current.end, now)}) and its gate has not said go"
                )
            view.next_steps = [
                f"evaluate_gate for phase {order.passed + 1} ({current.phase.name}) when its data is in",
                "record_decision with the result",
            ]
        view.summary = status_line(ctx) or (
            f"Release {state.version} is planned; no gate decision is recorded yet. The rollout starts "
            f"at {_when(windows[0].start)}."
        )
        if view.overdue:
            view.summary += " Late: " + "; ".join(view.overdue) + "."
        return view

    @staticmethod
    def _decisions(state: ReleaseState, rollout: Any) -> list[DecisionRef]:
        stored = [(a.spec, a.entity.id) for a in state.artifacts.get(DECISION.name, []) if a.spec is not None]
        found = [stored[i] for i in chronological([spec for spec, _ in stored], rollout)]
        return [
            DecisionRef(
                phase=phase_name(rollout, spec.phase),
                phase_number=phase_number(rollout, spec.phase),
                decision=spec.decision,
                decided_by=spec.decided_by,
                decided_at=spec.stamp(),
                entity_id=entity_id,
            )
            for spec, entity_id in found
        ]
