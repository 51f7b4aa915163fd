"""Step 3 of the skill: the rollback strategy (tool ``design_rollback``).

The kind is split by responsibility:

- ``model``: the input models, constants and ``RollbackFields`` (every field of the spec, and the
  overall confidence and coverage derived from them);
- ``evidence``: the confidence rule (its docstring states it) and what counts as evidence;
- ``checks``: the strategy's own findings;
- ``render``: the Markdown.

This module puts them together as ``RollbackSpec``, declares the kind (``KIND``), and re-exports what
the rest of the code imports from ``tools.rollback``.
"""

from __future__ import annotations

from typing import Any

from ..base import ArtifactKind, Finding, ReleaseContext
from . import checks
from . import render as rendering
from .evidence import procedure_confidence
from .model import RollbackFields, covers, release_features

__all__ = ["KIND", "RollbackSpec", "covers", "procedure_confidence", "release_features"]


class RollbackSpec(RollbackFields):
    """The rollback strategy of a release: when to roll back, how, and how sure we are it works."""

    # --- protocol -------------------------------------------------------------------------------

    def title(self, ctx: ReleaseContext) -> str:
        return rendering.title(self)

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        return checks.check(self)

    def confidence(self, ctx: ReleaseContext) -> float:
        """The stated overall confidence, else the one the evidence supports (``model``'s docstring)."""
        return self.overall_confidence(ctx)

    def computed(self, ctx: ReleaseContext) -> dict[str, Any]:
        fastest = self.fastest()
        return {
            "overall_confidence": self.confidence(ctx),
            "evidence_confidence": self.evidence_confidence(ctx),
            "confidence_by_type": self.confidence_by_type(ctx),
            "fastest": None
            if fastest is None
            else {"type": fastest.type, "minutes": fastest.time_to_rollback_minutes},
            "rule": self.rule(ctx),
        }

    def render(self, ctx: ReleaseContext) -> str:
        return rendering.render(self, ctx)


KIND = ArtifactKind(
    name="rollback_strategy",
    spec=RollbackSpec,
    entity_type="reasoning",
    title_prefix="Rollback Strategy:",
    tag="rollback",
    link_type="documents",
    tool="design_rollback",
    tool_title="Design the rollback strategy",
    next_step="plan_rollout",
    slot="rollback",
    reads=frozenset({"release_plan"}),
)
