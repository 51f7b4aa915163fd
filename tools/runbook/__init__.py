"""Step 5 of the skill: the release runbook (tool ``create_runbook``).

Deployment steps are placed on a minute clock around the deploy (``T-30min``, ``T``, ``T+10min``) and
checked for order. The rollout schedule is never typed here: it is read from the stored rollout plan,
so the runbook cannot disagree with it about which day a phase starts. T itself is a real date, time
and zone (``clock``): the runbook's own ``deploy``, else dated from the rollout's start.

The package: ``model`` (input models, T-offset helpers and the spec's fields), ``checks`` (its own
findings) and ``render`` (Markdown); this module puts them together as ``RunbookSpec`` and declares
the kind.
"""

from __future__ import annotations

from typing import Any

from ..base import ArtifactKind, Finding, ReleaseContext
from . import checks, render
from .clock import DeployTime, TZero
from .model import REHEARSAL, RunbookFields, display_offset, format_minute_offset, parse_minute_offset

__all__ = [
    "KIND",
    "REHEARSAL",
    "DeployTime",
    "RunbookSpec",
    "TZero",
    "display_offset",
    "format_minute_offset",
    "parse_minute_offset",
]


class RunbookSpec(RunbookFields):
    """The release runbook: checklist, timed deployment steps, smoke tests, contacts, troubleshooting."""

    # --- protocol -------------------------------------------------------------------------------

    def title(self, ctx: ReleaseContext) -> str:
        return render.title(self)

    def confidence(self, ctx: ReleaseContext) -> float | None:
        return None

    def computed(self, ctx: ReleaseContext) -> dict[str, Any]:
        t = self.t_zero(ctx)
        return {
            "steps": len(self.steps),
            "checklist_items": sum(len(s.items) for s in self.checklist),
            "smoke_tests": len(self.smoke_tests),
            "schedule_from_rollout": ctx.rollout is not None,
            "t": None if t is None else (t.when.isoformat() if t.when is not None else t.day.isoformat()),
            "t_from": None if t is None else t.source,
        }

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        return checks.check(self)

    def render(self, ctx: ReleaseContext) -> str:
        return render.render(self, ctx)


KIND = ArtifactKind(
    name="runbook",
    spec=RunbookSpec,
    entity_type="context",
    title_prefix="Release Runbook:",
    tag="runbook",
    link_type="references",
    tool="create_runbook",
    tool_title="Create the release runbook",
    next_step="link_release_entities, then summarize_release",
    slot="runbook",
    reads=frozenset({"rollout_plan", "release_plan"}),
)
