"""What every release artifact has in common: findings, the release context, and the spec protocol.

Each of the five artifact kinds (release plan, migration path, rollback strategy, rollout plan,
runbook) is a pydantic model in its own module that implements ``ArtifactSpec``. The use cases in
``tools.service`` load the other artifacts of the release into a ``ReleaseContext`` so that a spec can
check itself against them (a halt threshold against the rollback triggers, say) and render with them
(a runbook's rollout schedule from the stored rollout plan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # pragma: no cover
    from .migration import MigrationPathSpec
    from .release_plan import ReleasePlanSpec
    from .rollback import RollbackSpec
    from .rollout import RolloutSpec
    from .runbook import RunbookSpec

Severity = Literal["error", "warning"]
ArtifactKind = Literal["release_plan", "migration_path", "rollback_strategy", "rollout_plan", "runbook"]
ARTIFACT_KINDS: tuple[ArtifactKind, ...] = (
    "release_plan",
    "migration_path",
    "rollback_strategy",
    "rollout_plan",
    "runbook",
)


class Finding(BaseModel):
    """One result of checking a plan. Errors block the write; warnings are returned with it.

    ``code`` is stable (tests and agents may match on it); ``message`` is for people.
    """

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    message: str
    field: str | None = None


def error(code: str, message: str, field: str | None = None) -> Finding:
    return Finding(code=code, severity="error", message=message, field=field)


def warning(code: str, message: str, field: str | None = None) -> Finding:
    return Finding(code=code, severity="warning", message=message, field=field)


@dataclass
class ReleaseContext:
    """The stored artifacts of one release, as typed specs (None or empty where not planned yet)."""

    version: str
    plan: ReleasePlanSpec | None = None
    migrations: list[MigrationPathSpec] = field(default_factory=list)
    rollback: RollbackSpec | None = None
    rollout: RolloutSpec | None = None
    runbook: RunbookSpec | None = None


class ArtifactSpec(Protocol):
    """What ``tools.service`` needs from each artifact model.

    The model's fields are exactly the tool's top-level parameters (``version`` included), so the
    MCP layer can expose them one to one. ``model_dump(mode="json")`` is what gets stored; loading it
    back with ``model_validate`` must give an equal model and the same Markdown, byte for byte.
    """

    KIND: ClassVar[ArtifactKind]
    version: str

    def title(self, ctx: ReleaseContext) -> str:
        """The Engram title, in the skill's wording (e.g. ``Rollback Strategy: v2.5.0``)."""
        ...

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        """Errors and warnings for this spec, given the rest of the release. Pure and deterministic."""
        ...

    def render(self, ctx: ReleaseContext) -> str:
        """Markdown in the skill's section layout. Pure and deterministic: same input, same bytes."""
        ...

    def confidence(self, ctx: ReleaseContext) -> float | None:
        """Confidence in [0, 1] stored on a reasoning entity; None for context-stored kinds."""
        ...

    def computed(self, ctx: ReleaseContext) -> dict:
        """Figures the server worked out (batch order, timeline, overall confidence ...), JSON-ready."""
        ...


class SpecModel(BaseModel):
    """Base for artifact specs: strict about unknown fields so typos are reported, not dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
