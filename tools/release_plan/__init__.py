"""Step 1 of the skill: a release's scope, goals, feature batches, breaking changes, dependencies, risks.

Stored as an Engram context titled ``Release Plan: v2.5.0 - Enterprise Features``. The checks catch
what the skill's free text cannot: a breaking change in a minor release, a version number that
contradicts the declared release type, feature dependency cycles and must-haves that lean on
deferred work.

The kind is split by responsibility: ``model`` holds the fields and the lookups derived from them,
``checks`` the plan's own findings, ``render`` its Markdown. This module puts them together as
``ReleasePlanSpec`` with the figures ``computed`` reports, and declares the kind.
"""

from __future__ import annotations

from ..base import ArtifactKind, Finding, ReleaseContext
from ..common import release_type_of, semver_key
from .checks import check as check_plan
from .model import (
    BATCH_ORDER,
    SCALE_ORDER,
    WEEKDAYS,
    BreakingChange,
    ChangeCategory,
    Dependency,
    Feature,
    ReleasePlanFields,
    Risk,
    long_date,
    plain_date,
)
from .render import render as render_plan

__all__ = [
    "KIND",
    "BreakingChange",
    "ChangeCategory",
    "Dependency",
    "Feature",
    "ReleasePlanSpec",
    "Risk",
    "long_date",
    "plain_date",
    "semver_key",
]


class ReleasePlanSpec(ReleasePlanFields):
    """Step 1: what a release contains and why, in batches, with breaking changes, dependencies, risks."""

    # ----- titles -----

    def title(self, ctx: ReleaseContext) -> str:
        return f"Release Plan: v{self.version} - {self.name}"

    def task_title(self) -> str:
        """Title of the release's hub task in Engram."""
        return f"Release v{self.version} - {self.name}"

    def confidence(self, ctx: ReleaseContext) -> float | None:
        return None

    # ----- checks -----

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        return check_plan(self)

    # ----- computed -----

    def computed(self, ctx: ReleaseContext) -> dict:
        shipping = [f for f in self.features if f.batch != "deferred"]
        risks = [f.risk for f in shipping if f.risk is not None]
        flags: list[str] = []
        for f in shipping:
            if f.flag is not None and f.flag not in flags:
                flags.append(f.flag)
        return {
            "batch_order": self.batch_order(),
            "counts": {b: sum(1 for f in self.features if f.batch == b) for b in BATCH_ORDER},
            "highest_risk": max(risks, key=SCALE_ORDER.index) if risks else None,
            "flags": flags,
            "features_without_flag": [f.name for f in shipping if f.flag is None],
            "breaking_changes": [bc.name for bc in self.breaking_changes],
            "release_type_by_version": release_type_of(self.version),
            "target_date": self.target_date.isoformat(),
            "target_weekday": WEEKDAYS[self.target_date.weekday()],
            "open_dependencies": [d.name for d in self.dependencies if d.status != "done"],
            "task_title": self.task_title(),
        }

    # ----- Markdown -----

    def render(self, ctx: ReleaseContext) -> str:
        return render_plan(self)


KIND = ArtifactKind(
    name="release_plan",
    spec=ReleasePlanSpec,
    entity_type="context",
    title_prefix="Release Plan:",
    tag=None,
    link_type="references",
    tool="create_release_plan",
    tool_title="Create or update a release plan",
    next_step="design_migration_path for each breaking change, else design_rollback",
    slot="plan",
    accepts_task_id=True,
)
