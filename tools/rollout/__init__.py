"""Step 4 of the release-planning skill: the phased rollout plan (tool ``plan_rollout``).

The plan is typed so the server can check what the skill's free text got wrong (release-domain §7):
percentages that fall, cohorts that do not nest, a halt threshold that contradicts the rollback
triggers, statistical gates that peek or treat "no difference" as safe, and phase changes on a
weekend. It also computes the calendar timeline, which the skill wrote by hand ("March 15 (Monday)"
was a Sunday). Durations are elapsed hours, added in UTC and shown in the start's IANA zone, so a
phase that crosses a DST change ends at a different local wall-clock hour, as it really does.

The kind is split by responsibility: ``clock`` reads the start time, zone and business hours, ``model``
holds the fields and the timeline derived from them, ``checks`` the plan's own findings and ``render``
its Markdown and gantt chart. ``RolloutSpec`` puts them behind the spec protocol.
"""

from __future__ import annotations

from ..base import ArtifactKind, Finding, ReleaseContext
from .checks import check as check_plan
from .clock import WEEKDAYS, BusinessHours, DayName, StartTime, check_wall_time, load_zone
from .gate_checks import FAMILY_ALPHA
from .gates import figures as gate_figures
from .model import Approach, Flag, Gate, GateType, Phase, PhaseWindow, RolloutFields, Targeting
from .render import gantt as gantt_chart
from .render import plan_title
from .render import render as render_plan

__all__ = [
    "FAMILY_ALPHA",
    "KIND",
    "WEEKDAYS",
    "Approach",
    "BusinessHours",
    "DayName",
    "Flag",
    "Gate",
    "GateType",
    "Phase",
    "PhaseWindow",
    "RolloutFields",
    "RolloutSpec",
    "StartTime",
    "Targeting",
    "check_wall_time",
    "load_zone",
]


class RolloutSpec(RolloutFields):
    """A phased rollout plan: approach, start, phases with gates, flags and the halt threshold."""

    # ---- protocol ---------------------------------------------------------------------------------

    def title(self, ctx: ReleaseContext) -> str:
        return plan_title(self, ctx)

    def confidence(self, ctx: ReleaseContext) -> float | None:
        return None

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        return check_plan(self)

    def computed(self, ctx: ReleaseContext) -> dict:
        windows = self.timeline()
        first = windows[0].start
        assert first is not None
        end = self.rollout_end()
        removal = self.flag_removal_date()
        return {
            "timeline": [
                {
                    "phase": w.phase.name,
                    "percent": w.phase.percent,
                    "start": w.start.isoformat() if w.start else None,
                    "end": w.end.isoformat() if w.end else None,
                    "weekday": WEEKDAYS[w.start.weekday()] if w.start else None,
                    "day": self.day_number(w.start),
                    "end_weekday": WEEKDAYS[w.end.weekday()] if w.end else None,
                    "end_day": self.day_number(w.end),
                }
                for w in windows
            ],
            "total_days": self.day_number(end),
            "start": first.isoformat(),
            "end": end.isoformat() if end else None,
            "percentages": [p.percent for p in self.phases],
            "flag_removal_date": removal.isoformat() if removal else None,
            "gated_phases": sum(1 for p in self.phases if p.decision_owner or p.gate),
            "gates": [f.as_dict(self) for f in gate_figures(self)],
        }

    def render(self, ctx: ReleaseContext) -> str:
        return render_plan(self, ctx)

    def gantt(self, ctx: ReleaseContext) -> str:
        """A Mermaid gantt chart of the phases in local wall-clock time (deterministic)."""
        return gantt_chart(self, ctx)


KIND = ArtifactKind(
    name="rollout_plan",
    spec=RolloutSpec,
    entity_type="reasoning",
    title_prefix="Phased Rollout Plan:",
    tag="rollout",
    link_type="documents",
    tool="plan_rollout",
    tool_title="Plan the phased rollout",
    next_step="create_runbook",
    slot="rollout",
)
