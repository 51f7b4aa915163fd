"""What the use cases return. These models are the tools' structured output (outputSchema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Notice(BaseModel):
    """A warning about the plan: stored anyway, but worth a look."""

    code: str = Field(description="Stable identifier of the check, e.g. cohorts_not_nested")
    message: str = Field(description="What is wrong and how to fix it")
    field: str | None = Field(default=None, description="Dotted path of the input field concerned, if any")


class ArtifactRef(BaseModel):
    """One stored artifact of a release, as Engram holds it."""

    kind: str = Field(
        description="release, release_plan, migration_path, rollback_strategy, rollout_plan or runbook"
    )
    entity_type: str = Field(description="Engram entity type: task, context or reasoning")
    entity_id: str = Field(description="Engram entity id (UUID); use with `engram context show` etc.")
    title: str
    revision: int = Field(
        description="Engram version number of this entity; pass it as expected_revision to update safely"
    )
    typed: bool = Field(description="False when written by hand (no structured spec): shown as Markdown only")
    updated_at: str


class LinkRef(BaseModel):
    relationship_id: str
    source_id: str
    target_id: str
    target_type: str
    relationship_type: str


class WriteResult(BaseModel):
    """Result of a write tool: what was stored, the rendered Markdown, warnings and what to do next."""

    release: str = Field(description="Normalized version, e.g. 2.5.0")
    task_id: str = Field(description="Id of the release task (the hub entity) in Engram")
    artifact: ArtifactRef
    revision: int = Field(description="Revision of the artifact after this write")
    created: bool = Field(description="True if the artifact was created, False if updated in place")
    markdown: str = Field(
        description="The artifact rendered as Markdown (may be trimmed; see markdown_truncated)"
    )
    markdown_truncated: bool = False
    resource_uri: str = Field(description="MCP resource with the whole release as Markdown")
    warnings: list[Notice] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    computed: dict[str, Any] = Field(
        default_factory=dict,
        description="Figures the server worked out: batch order, timeline, confidence ...",
    )


class LinkResult(BaseModel):
    """Result of link_release_entities: links created now and links that already existed."""

    release: str
    task_id: str
    created: list[LinkRef] = Field(default_factory=list)
    existing: list[LinkRef] = Field(default_factory=list)
    warnings: list[Notice] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)


class ReleaseView(BaseModel):
    """A whole release: every artifact, the links, Markdown and cross-artifact warnings."""

    release: str
    name: str
    status: str = Field(description="Status of the release task: todo, inprogress, done, blocked, cancelled")
    target_date: str | None = None
    task_id: str
    typed: bool = Field(description="False if any artifact was written by hand without a structured spec")
    artifacts: list[ArtifactRef]
    links: list[LinkRef]
    missing: list[str] = Field(description="Artifact kinds not planned yet")
    markdown: str
    markdown_truncated: bool = False
    resource_uri: str
    warnings: list[Notice] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)


class ReleaseSummary(BaseModel):
    """One line of list_release_plans."""

    release: str
    name: str
    status: str
    target_date: str | None = None
    task_id: str
    artifacts: list[str] = Field(description="Artifact kinds present")
    typed: bool
    updated_at: str


class ReleasePage(BaseModel):
    releases: list[ReleaseSummary]
    next_cursor: str | None = Field(
        default=None, description="Pass as cursor to get the next page; null at the end"
    )
    total: int


class StakeholderSummary(BaseModel):
    """The closing paragraph of the skill, computed from the stored artifacts."""

    release: str
    summary: str = Field(description="One paragraph for stakeholders")
    facts: dict[str, Any] = Field(default_factory=dict)
    warnings: list[Notice] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Running the plan: gate evaluations, decisions and where the release stands.

Verdict = Literal["go", "hold", "rollback"]


class EffectResult(BaseModel):
    """Treatment minus control, with its confidence interval (rates as fractions, means in their unit)."""

    estimate: float
    ci_low: float
    ci_high: float
    relative: float | None = Field(default=None, description="estimate / control, when defined")
    relative_ci_low: float | None = None
    relative_ci_high: float | None = None


class MetricResult(BaseModel):
    """The verdict on one observed metric."""

    model_config = ConfigDict(extra="ignore")

    metric: str
    role: Literal["gate", "halt", "target"]
    verdict: Verdict
    control: float = Field(description="Control rate (fraction) or mean")
    treatment: float = Field(description="Treatment rate (fraction) or mean")
    effect: EffectResult | None = None
    margin: float | None = Field(default=None, description="Largest harm accepted, as a fraction for rates")
    reasons: list[str] = Field(default_factory=list)


class GateEvaluation(BaseModel):
    """Result of evaluate_gate; pass it whole as record_decision's evidence."""

    model_config = ConfigDict(extra="ignore")

    release: str
    phase: str
    phase_number: int
    look: int = Field(description="Which look at the data this is (1-based)")
    looks: int = Field(description="How many looks the plan spends alpha over")
    alpha: float = Field(description="The alpha spent at this look")
    decision: Verdict
    srm_p_value: float | None = Field(default=None, description="Sample-ratio-mismatch p-value")
    effect: EffectResult | None = Field(default=None, description="The gate metric's effect")
    required_sample_per_arm: int | None = None
    more_per_arm: int | None = Field(default=None, description="Exposures each arm still needs")
    reached_at: str | None = Field(default=None, description="When the needed sample is reached")
    metrics: list[MetricResult] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)


class Interval(BaseModel):
    estimate: float
    ci_low: float
    ci_high: float


class GateEvidence(BaseModel):
    """What a decision keeps of an evaluate_gate result: pass the result whole, the rest is ignored."""

    model_config = ConfigDict(extra="ignore")

    release: str
    phase: str
    phase_number: int
    look: int
    looks: int
    alpha: float
    decision: Verdict
    srm_p_value: float | None = None
    effect: Interval | None = None
    more_per_arm: int | None = None
    reasons: list[str] = Field(default_factory=list, max_length=100)


class DecisionRef(BaseModel):
    phase: str
    phase_number: int | None
    decision: Verdict
    decided_by: str
    decided_at: str
    entity_id: str


class PhaseStatus(BaseModel):
    phase: str
    phase_number: int
    percent: float
    start: str | None
    end: str | None
    state: Literal["passed", "current", "upcoming", "rolled_back"]


class ReleaseStatusView(BaseModel):
    """Where a release stands while it rolls out."""

    release: str
    status: str = Field(description="The release task's status: todo, inprogress, done, cancelled ...")
    current_phase: str | None = None
    current_phase_number: int | None = None
    next_gate: str | None = Field(default=None, description="The phase whose gate comes next")
    next_gate_due: str | None = Field(default=None, description="When that phase is planned to end")
    decisions: list[DecisionRef] = Field(default_factory=list)
    phases: list[PhaseStatus] = Field(default_factory=list)
    overdue: list[str] = Field(default_factory=list, description="What is late against the timeline")
    summary: str = ""
    next_steps: list[str] = Field(default_factory=list)
