"""Step 2 of the skill: how users get across one breaking change, phase by phase.

Stored as an Engram reasoning titled ``Migration Path: <change>``, one per breaking change of the
release plan. Phases are written as T-offsets (days from the release day) and turned into calendar
dates from the plan's target date. The checks hold a path to what the skill's template leaves to
hope: phases in order, expand/migrate/contract for schema changes, a measurable exit criterion
before anything is switched off, and no contract step while the release can still be rolled back.

The package: ``model`` (input models and the spec's fields), ``checks`` (its own findings) and
``render`` (Markdown); this module puts them together as ``MigrationPathSpec`` and declares the kind.
"""

from __future__ import annotations

from ..base import ArtifactKind, Finding, ReleaseContext
from ..common import offset_date
from . import checks, render
from .model import MigrationPathFields, MigrationPhase

__all__ = ["KIND", "MigrationPathSpec", "MigrationPhase"]


class MigrationPathSpec(MigrationPathFields):
    """Step 2: one breaking change's migration path: dated timeline, customer steps, exit criteria."""

    # ----- protocol -----

    def title(self, ctx: ReleaseContext) -> str:
        return f"Migration Path: {self.change}"

    def confidence(self, ctx: ReleaseContext) -> float | None:
        return self.stated_confidence

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        return checks.check(self)

    def render(self, ctx: ReleaseContext) -> str:
        return render.render(self, ctx)

    # ----- computed -----

    def computed(self, ctx: ReleaseContext) -> dict:
        target = ctx.plan.target_date if ctx.plan is not None else None

        def on(days: int | None) -> str | None:
            if days is None or target is None:
                return None
            return offset_date(target, days).isoformat()

        phases = [
            {
                "name": p.name,
                "kind": p.kind,
                "start_offset": p.start_days(),
                "end_offset": p.end_days(),
                "start_date": on(p.start_days()),
                "end_date": on(p.end_days()),
            }
            for p in self.phases
        ]
        terminal = self.terminal_phase()
        shutdown_offset = terminal[1].start_days() if terminal else None
        return {
            "phases": phases,
            "shutdown_date": on(shutdown_offset),
            "shutdown_offset": shutdown_offset,
            "change_type": self.effective_change_type(ctx),
            "rollback_window_end_offset": self.rollback_window_end(ctx),
            "dates_from": target.isoformat() if target else None,
        }


KIND = ArtifactKind(
    name="migration_path",
    spec=MigrationPathSpec,
    entity_type="reasoning",
    title_prefix="Migration Path:",
    tag="migration",
    link_type="documents",
    tool="design_migration_path",
    tool_title="Design a migration path for a breaking change",
    next_step="design_rollback",
    slot="migrations",
    reads=frozenset({"release_plan", "rollout_plan"}),
    many=True,
    key=lambda spec: str(spec.change).casefold(),
)
