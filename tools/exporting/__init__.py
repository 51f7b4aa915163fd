"""``export_rollout``: the stored rollout plan as configuration for the engine a team runs.

Feature-flag engines (``unleash``, ``launchdarkly``, ``flagd``) get one document per phase, every flag
at the phase's share with one hash group (seed) for the whole rollout so cohorts nest; progressive
delivery engines (``argo_rollouts``, ``flagger``) get the canary resource with its steps and the
metric templates. What an engine cannot express comes back as ``warnings``, what to fill in as
``notes``. Each engine is one module; ``TARGETS`` is the registry. Read-only: nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

from ..errors import InvalidInput, NotFound
from ..loading import ReleaseLoader
from ..rollout import KIND as ROLLOUT
from ..rollout import RolloutFields
from . import argo, flagd, flagger, launchdarkly, unleash
from .model import CohortPlan, ExportDocument, ExportResult, ExportWarning, Target, Warnings, cohort_plan

__all__ = [
    "TARGETS",
    "ExportDocument",
    "ExportResult",
    "ExportWarning",
    "RolloutExporter",
    "Target",
    "export",
]

Built = tuple[list[ExportDocument], list[str]]


@dataclass(frozen=True)
class Exporter:
    """One engine: its description and how the rollout becomes its documents."""

    engine: str
    build: Callable[[RolloutFields, str, Warnings], Built]


def _flags(
    module: Callable[[CohortPlan, Warnings], Built],
) -> Callable[[RolloutFields, str, Warnings], Built]:
    def build(spec: RolloutFields, version: str, warn: Warnings) -> Built:
        documents, notes = module(cohort_plan(spec, version, warn), warn)
        if spec.halt_threshold or any(p.metric_targets or p.gate for p in spec.phases):
            notes.append(
                "A flag carries no metrics: judge each phase's metric targets, gate and the halt threshold "
                "with get_release_status and evaluate_gate before you apply the next phase's document."
            )
        return documents, notes

    return build


TARGETS: dict[str, Exporter] = {
    "unleash": Exporter(unleash.ENGINE, _flags(unleash.export)),
    "launchdarkly": Exporter(launchdarkly.ENGINE, _flags(launchdarkly.export)),
    "flagd": Exporter(flagd.ENGINE, _flags(flagd.export)),
    "argo_rollouts": Exporter(argo.ENGINE, argo.export),
    "flagger": Exporter(flagger.ENGINE, flagger.export),
}
assert set(TARGETS) == set(get_args(Target))


def export(spec: RolloutFields, target: str, version: str | None = None) -> ExportResult:
    """The rollout as ``target``'s configuration (a pure function of the spec)."""
    exporter = TARGETS.get(target)
    if exporter is None:
        raise InvalidInput(
            f"unknown export target {target!r}",
            field="target",
            valid=", ".join(TARGETS),
            next_step="ask again with one of them: unleash, launchdarkly or flagd for the feature flags, "
            "argo_rollouts or flagger for a Kubernetes canary",
        )
    version = version or str(spec.version)
    warn = Warnings()
    documents, notes = exporter.build(spec, version, warn)
    return ExportResult(
        version=version,
        target=target,  # type: ignore[arg-type]
        engine=exporter.engine,
        documents=documents,
        warnings=warn.items,
        notes=notes,
    )


class RolloutExporter:
    """The use case: load the release's stored rollout plan and export it."""

    def __init__(self, loader: ReleaseLoader) -> None:
        self.loader = loader

    def export(self, version: str, target: str) -> ExportResult:
        state = self.loader.read(version)
        rollout = state.one(ROLLOUT.name)
        if rollout is None:
            raise NotFound(
                f"release {state.version} has no rollout plan to export yet",
                field="version",
                next_step=f"call {ROLLOUT.tool} for {state.version} first, then export it",
            )
        if not isinstance(rollout.spec, RolloutFields):
            raise NotFound(
                f"the rollout plan of release {state.version} is stored without its fields (an older "
                "or hand-edited form), so there are no phases to export",
                field="version",
                next_step=f"call {ROLLOUT.tool} for {state.version} again to store it whole, then export",
            )
        return export(rollout.spec, target, state.version)
