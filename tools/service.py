"""The use cases: one method per MCP tool, working against the storage port.

(Skeleton: signatures are the contract for the MCP layer; bodies are being written.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from .common import ShortText
from .ports import Store
from .results import LinkResult, ReleasePage, ReleaseView, StakeholderSummary, WriteResult

if TYPE_CHECKING:  # pragma: no cover
    from .migration import MigrationPathSpec
    from .release_plan import ReleasePlanSpec
    from .rollback import RollbackSpec
    from .rollout import RolloutSpec
    from .runbook import RunbookSpec

ReleaseStatus = Literal["todo", "inprogress", "done", "blocked", "cancelled"]


class ExtraLink(BaseModel):
    """A link from the release task to another Engram entity (beyond the release's own artifacts)."""

    target_id: ShortText = Field(description="Engram id (UUID, or a unique prefix of 4+ hex characters)")
    target_type: Literal["task", "context", "reasoning"] = Field(description="Engram entity type of the target")
    relationship_type: Literal[
        "references", "documents", "depends_on", "contains", "implements", "fulfills", "associated_with"
    ] = Field(default="references", description="Kind of link, as engram names it")
    description: ShortText | None = Field(default=None, description="Why the link exists")


@dataclass(frozen=True)
class WriteTool:
    """How the MCP layer exposes one write use case: the spec model's fields are its parameters."""

    name: str
    title: str
    spec: Callable[[], type[BaseModel]]  # lazy, so importing this module stays cheap
    method: str
    accepts_task_id: bool = False


def _spec(module: str, cls: str) -> Callable[[], type[BaseModel]]:
    def load() -> type[BaseModel]:
        import importlib

        return getattr(importlib.import_module(f"{__package__}.{module}"), cls)

    return load


WRITE_TOOLS: tuple[WriteTool, ...] = (
    WriteTool("create_release_plan", "Create or update a release plan", _spec("release_plan", "ReleasePlanSpec"),
              "create_release_plan", accepts_task_id=True),
    WriteTool("design_migration_path", "Design a migration path for a breaking change",
              _spec("migration", "MigrationPathSpec"), "design_migration_path"),
    WriteTool("design_rollback", "Design the rollback strategy", _spec("rollback", "RollbackSpec"), "design_rollback"),
    WriteTool("plan_rollout", "Plan the phased rollout", _spec("rollout", "RolloutSpec"), "plan_rollout"),
    WriteTool("create_runbook", "Create the release runbook", _spec("runbook", "RunbookSpec"), "create_runbook"),
)


class ReleasePlanner:
    """The use cases. One instance per server; thread-safe as far as the store is."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] | None = None,
        max_markdown_chars: int = 12_000,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_markdown_chars = max_markdown_chars

    # -- writes (steps 1-5): calling again for the same release updates the artifact in place --
    def create_release_plan(
        self, spec: ReleasePlanSpec, *, task_id: str | None = None, expected_revision: int | None = None,
        agent: str = "default",
    ) -> WriteResult:
        raise NotImplementedError

    def design_migration_path(
        self, spec: MigrationPathSpec, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        raise NotImplementedError

    def design_rollback(
        self, spec: RollbackSpec, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        raise NotImplementedError

    def plan_rollout(
        self, spec: RolloutSpec, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        raise NotImplementedError

    def create_runbook(
        self, spec: RunbookSpec, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        raise NotImplementedError

    # -- step 6 --
    def link_release_entities(
        self, version: str, links: list[ExtraLink] | None = None, *, agent: str = "default"
    ) -> LinkResult:
        raise NotImplementedError

    # -- reads --
    def get_release_plan(self, version: str) -> ReleaseView:
        raise NotImplementedError

    def list_release_plans(
        self, status: ReleaseStatus | None = None, limit: int = 20, cursor: str | None = None
    ) -> ReleasePage:
        raise NotImplementedError

    def summarize_release(self, version: str) -> StakeholderSummary:
        raise NotImplementedError

    # -- for resources (whole, never trimmed) --
    def release_markdown(self, version: str) -> str:
        raise NotImplementedError

    def release_json(self, version: str) -> dict[str, Any]:
        raise NotImplementedError

    def release_timeline(self, version: str) -> str:
        """Mermaid gantt of the rollout (NotFound if no rollout is planned)."""
        raise NotImplementedError
