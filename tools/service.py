"""The composition root of the use cases: ``ReleasePlanner``, one method per MCP tool.

Each use case lives in a module of its own and works against the storage port (``tools.ports``):

- ``loading``: a release from the store (hub task, artifacts with typed specs, links), hand-written
  ones included;
- ``founding``: ``create_release_plan``, the plan and its hub task in one commit;
- ``writing``: every other artifact, with the dependents it re-renders, in one commit;
- ``linking``: ``link_release_entities``;
- ``reading``: ``get_release_plan``, ``summarize_release`` and the resources;
- ``listing``: ``list_release_plans``;
- ``exporting``: ``export_rollout``, the rollout as an engine's configuration.
- ``retiring``: ``retire_release_artifact``, an artifact or a whole release, as Engram deletes.

What each kind of artifact is comes from its descriptor (``tools.registry``); what is checked across
artifacts is the whole-release review (``tools.review``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from .evaluating import GateEvaluator, Observation
from .exporting import ExportResult, RolloutExporter
from .founding import ReleaseFounder
from .linking import ExtraLink, ReleaseLinker
from .listing import ReleaseLister, ReleaseStatus
from .loading import ReleaseLoader
from .ports import Store
from .reading import ReleaseReader
from .registry import KINDS
from .results import (
    GateEvaluation,
    LinkResult,
    ReleasePage,
    ReleaseStatusView,
    ReleaseView,
    StakeholderSummary,
    WriteResult,
)
from .retiring import ReleaseRetirer, RetirableKind, RetireResult
from .tracking import ReleaseTracker
from .writing import ArtifactWriter

__all__ = [
    "PLAN_TOOLS",
    "RUN_TOOLS",
    "WRITE_TOOLS",
    "ExtraLink",
    "ReleasePlanner",
    "ReleaseStatus",
    "RetirableKind",
    "RetireResult",
    "WriteTool",
]


@dataclass(frozen=True)
class WriteTool:
    """How the MCP layer exposes one write use case: the spec model's fields are its parameters."""

    name: str
    title: str
    spec: type[BaseModel]
    method: str
    accepts_task_id: bool = False
    runs_release: bool = False  # a tool for running the rollout (a decision), not for planning it


WRITE_TOOLS: tuple[WriteTool, ...] = tuple(
    WriteTool(
        k.tool,
        k.tool_title,
        k.spec,
        k.tool,
        accepts_task_id=k.accepts_task_id,
        runs_release=k.moves_release is not None,
    )
    for k in KINDS
)
PLAN_TOOLS = tuple(w for w in WRITE_TOOLS if not w.runs_release)
RUN_TOOLS = tuple(w for w in WRITE_TOOLS if w.runs_release)


class ReleasePlanner:
    """The use cases, wired to one store. One instance per server; thread-safe as far as the store is."""

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
        self.loader = ReleaseLoader(store)
        self.writer = ArtifactWriter(store, self.loader, max_markdown_chars)
        self.founder = ReleaseFounder(store, self.loader, self.writer)
        self.linker = ReleaseLinker(store, self.loader)
        self.reader = ReleaseReader(self.loader, max_markdown_chars)
        self.lister = ReleaseLister(store, self.loader)
        self.tracker = ReleaseTracker(self.loader, clock)
        self.evaluator = GateEvaluator(self.loader, clock)
        self.exporter = RolloutExporter(self.loader)
        self.retirer = ReleaseRetirer(store, self.loader, self.writer)

    # Steps 1-5: one write per artifact kind (the spec's type says which kind).
    def create_release_plan(
        self,
        spec: Any,
        *,
        task_id: str | None = None,
        expected_revision: int | None = None,
        agent: str = "default",
    ) -> WriteResult:
        return self.founder.write(spec, task_id=task_id, expected_revision=expected_revision, agent=agent)

    def write(
        self, spec: Any, *, expected_revision: int | None = None, agent: str = "default"
    ) -> WriteResult:
        return self.writer.write(spec, expected_revision=expected_revision, agent=agent)

    design_migration_path = write
    design_rollback = write
    plan_rollout = write
    create_runbook = write
    record_decision = write

    # Step 6
    def link_release_entities(
        self, version: str, links: list[ExtraLink] | None = None, *, agent: str = "default"
    ) -> LinkResult:
        return self.linker.link(version, links, agent=agent)

    # Retiring an artifact stored by mistake, or a whole release
    def retire_release_artifact(
        self,
        version: str,
        kind: str | None = None,
        entity_id: str | None = None,
        *,
        expected_revision: int | None = None,
        agent: str = "default",
    ) -> RetireResult:
        return self.retirer.retire(version, kind, entity_id, expected_revision=expected_revision, agent=agent)

    # Reads
    def get_release_plan(self, version: str) -> ReleaseView:
        return self.reader.get_release_plan(version)

    def list_release_plans(
        self, status: ReleaseStatus | None = None, limit: int = 20, cursor: str | None = None
    ) -> ReleasePage:
        return self.lister.list(status, limit, cursor)

    def summarize_release(self, version: str) -> StakeholderSummary:
        return self.reader.summarize_release(version)

    def export_rollout(self, version: str, target: str) -> ExportResult:
        return self.exporter.export(version, target)

    # Running the plan
    def get_release_status(self, version: str) -> ReleaseStatusView:
        return self.tracker.status(version)

    def evaluate_gate(
        self, version: str, phase: int | str, observations: list[Observation], look: int | None = None
    ) -> GateEvaluation:
        return self.evaluator.evaluate(version, phase, observations, look)

    def release_versions(self) -> list[str]:
        """Every stored release version, newest first (for completion)."""
        return self.lister.versions()

    # Resources
    def release_markdown(self, version: str) -> str:
        return self.reader.release_markdown(version)

    def release_json(self, version: str) -> dict[str, Any]:
        return self.reader.release_json(version)

    def release_timeline(self, version: str) -> str:
        return self.reader.release_timeline(version)
