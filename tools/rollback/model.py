"""The rollback strategy's data: input models, constants, its fields, and what is derived from them.

``RollbackFields`` holds every field of the spec and the values derived from them (confidences, the
rule text, the fastest procedure); the checks (``checks``) and the Markdown (``render``) read it.

The skill's template has agents type confidence values by hand (0.95/0.70/0.99/0.50) and offers
``alembic downgrade -1`` as the database rollback. Here the confidence is worked out from what was
actually rehearsed, and destructive down-migrations are flagged in favour of expand/contract.

The confidence rule is stated in ``evidence`` (the module that computes it); ``RollbackFields``
applies it to the whole strategy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..base import ReleaseContext, SpecModel
from ..common import MAX_ITEMS, LongText, MetricCondition, ShortText, Text, Version
from .evidence import (  # noqa: F401 (the rule's constants lived here before ``evidence``; still importable)
    DATA_LOSS_CAP,
    HIGH_CONFIDENCE,
    PER_PROCEDURE_RULE,
    REHEARSED_BY_COMPLEXITY,
    UNREHEARSED_CAP,
    evidence_procedure_confidence,
    procedure_confidence,
    rehearsal_passed,
    release_day,
)

ProcedureType = Literal["feature_flag", "application", "database", "infrastructure"]
Level = Literal["very_low", "low", "medium", "high", "very_high"]
DataLossRisk = Literal["none", "possible", "certain"]

PROCEDURE_NAMES: dict[str, str] = {
    "feature_flag": "Feature Flag Toggle",
    "application": "Application Code",
    "database": "Database Migration",
    "infrastructure": "Infrastructure",
}

WHOLE_RELEASE = "all"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RollbackStep(_Model):
    """One step of a rollback procedure."""

    action: Text = Field(description="What to do, e.g. 'Roll back the Kubernetes deployment'")
    command: LongText | None = Field(
        default=None,
        description="Shell command for this step, if any, e.g. 'kubectl rollout undo deployment/api'",
    )


class Rehearsal(_Model):
    """Evidence that the procedure was rehearsed, with the time it really took."""

    date: dt.date = Field(description="Day of the rehearsal, ISO format, e.g. 2026-03-12")
    measured_minutes: float = Field(
        gt=0,
        le=60 * 24 * 7,
        allow_inf_nan=False,
        description="Minutes the rollback took, e.g. 0.75 for 45 seconds",
    )
    environment: ShortText | None = Field(default=None, description="Where it was rehearsed, e.g. staging")
    participants: list[ShortText] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Who took part, e.g. 'Alice Chen (on-call)'"
    )
    issues_found: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description=(
            "Problems the rehearsal found; empty means none. A rehearsal with issues does not raise "
            "confidence"
        ),
    )


class RollbackProcedure(_Model):
    """One way to undo the release, e.g. turning feature flags off or redeploying the previous version."""

    type: ProcedureType = Field(
        description=(
            "feature_flag (turn flags off), application (redeploy previous code), database, or infrastructure"
        )
    )
    applies_to: list[ShortText] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description=(
            "What this procedure undoes: feature names or flag names from the release plan, components "
            "(e.g. 'Elasticsearch cluster'), or 'all' for every feature of the release"
        ),
    )
    complexity: Level = Field(description="How complex the procedure is, very_low to very_high")
    risk: Level = Field(description="Risk of running the procedure itself, very_low to very_high")
    time_to_rollback_minutes: float = Field(
        gt=0,
        le=60 * 24 * 7,
        allow_inf_nan=False,
        description=(
            "Stated worst-case minutes to complete the rollback, e.g. 1 for a flag toggle, 10 for a redeploy"
        ),
    )
    time_to_rollback_best_minutes: float | None = Field(
        default=None,
        gt=0,
        le=60 * 24 * 7,
        allow_inf_nan=False,
        description="Optional best-case minutes, for a range such as 5-10 minutes (here 5)",
    )
    steps: list[RollbackStep] = Field(
        min_length=1, max_length=MAX_ITEMS, description="The procedure, in order"
    )
    prerequisites: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="What must be true for it to work, e.g. 'Previous Docker image available in registry'",
    )
    data_loss_risk: DataLossRisk = Field(
        default="none",
        description="Whether rolling back loses data written since the release: none, possible, certain",
    )
    data_loss_mitigation: Text | None = Field(
        default=None,
        description="How lost data is recovered, e.g. 'Snapshot the database before rolling back'",
    )
    rehearsal: Rehearsal | None = Field(
        default=None, description="The latest rehearsal of this procedure; omit if it was never rehearsed"
    )
    confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description=(
            "Confidence in [0, 1] that it works; omit to have it computed from the rehearsal evidence"
        ),
    )


class NotificationRule(_Model):
    """Who hears about a rollback, by how long users were affected."""

    min_outage_minutes: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Applies when the outage is longer than this, e.g. 15",
    )
    max_outage_minutes: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Applies when the outage is at most this, e.g. 60",
    )
    channels: list[ShortText] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Where to notify, e.g. 'Status page', 'Email'; empty means no notification",
    )
    audience: ShortText | None = Field(
        default=None, description="Who is notified, e.g. 'Enterprise customers'"
    )
    message: LongText | None = Field(
        default=None, description="Message template for this case, if it has its own"
    )


class Communication(_Model):
    """How a rollback is announced inside the company and to customers."""

    internal_channel: ShortText | None = Field(
        default=None, description="Internal channel, e.g. 'Slack #incidents'"
    )
    internal_template: LongText | None = Field(
        default=None,
        description="Internal announcement template, e.g. 'ROLLBACK IN PROGRESS - Release: v2.5.0 ...'",
    )
    external_channel: ShortText | None = Field(default=None, description="Public channel, e.g. 'Status page'")
    external_template: LongText | None = Field(default=None, description="Public message template")
    rules: list[NotificationRule] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Customer notification rules by outage length"
    )


class RollbackFields(SpecModel):
    """The fields of the rollback strategy and the values derived from them (``RollbackSpec`` adds the
    protocol methods)."""

    # The tool parameter is `confidence`, but the ArtifactSpec protocol needs a `confidence(ctx)`
    # method, so the field lives under another Python name and is read and written as `confidence`.
    model_config = ConfigDict(serialize_by_alias=True)

    version: Version
    automatic_triggers: list[MetricCondition] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description=(
            "Metric conditions that trigger an automatic rollback (the bad state), each with a sustained "
            "window, e.g. error_rate > 5 percent for 5 minutes"
        ),
    )
    manual_triggers: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Situations where a person decides to roll back, e.g. 'Payment data corruption detected'",
    )
    procedures: list[RollbackProcedure] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description=(
            "Rollback procedures, at most one per type, in the order you would use them: the first is the "
            "preferred path, the last the last resort"
        ),
    )
    communication: Communication = Field(
        default_factory=Communication, description="Announcement channels, templates and notification rules"
    )
    stated_confidence: float | None = Field(
        default=None,
        alias="confidence",
        ge=0,
        le=1,
        allow_inf_nan=False,
        description=(
            "Overall confidence in [0, 1]; omit to have it computed from the procedures and their rehearsals"
        ),
    )

    # --- confidence -----------------------------------------------------------------------------

    def overall_confidence(self, ctx: ReleaseContext) -> float:
        """The stated overall confidence, else the rule over each procedure's stated-or-evidence figure."""
        if self.stated_confidence is not None:
            return self.stated_confidence
        day = release_day(ctx)
        return self._overall(ctx, lambda p: procedure_confidence(p, day))

    def confidence_by_type(self, ctx: ReleaseContext | None = None) -> dict[str, float]:
        day = release_day(ctx)
        result: dict[str, float] = {}
        for proc in self.procedures:
            result.setdefault(proc.type, procedure_confidence(proc, day))
        return result

    def evidence_confidence(self, ctx: ReleaseContext) -> float:
        """The overall confidence the evidence supports: the module's rule with every stated value
        (overall and per procedure) ignored."""
        day = release_day(ctx)
        return self._overall(ctx, lambda p: evidence_procedure_confidence(p, day))

    def _overall(self, ctx: ReleaseContext, score: Callable[[RollbackProcedure], float]) -> float:
        features = release_features(ctx)
        scores = [score(p) for p in self.procedures]
        if not features:
            whole = [s for p, s in zip(self.procedures, scores, strict=True) if _applies_to_all(p)]
            return max(whole or scores, default=0.0)
        return min(
            max((s for p, s in zip(self.procedures, scores, strict=True) if covers(p, f)), default=0.0)
            for f in features
        )

    def rule(self, ctx: ReleaseContext) -> str:
        n = len(release_features(ctx))
        if n:
            overall = (
                f"the lowest, over the {n} release-plan features not deferred, of the best confidence among "
                "the procedures covering each feature (0 for a feature none covers)"
            )
        else:
            overall = (
                "the best confidence among the procedures that apply to 'all', or among all procedures when "
                "none does (there are no release-plan features to check coverage against)"
            )
        evidence = self.evidence_confidence(ctx)
        if self.stated_confidence is not None:
            return (
                f"Overall {self.stated_confidence:.2f} was stated by the caller; the evidence rule gives "
                f"{evidence:.2f}: {overall}; {PER_PROCEDURE_RULE}."
            )
        text = f"Overall confidence is {overall}; {PER_PROCEDURE_RULE}."
        computed = self.overall_confidence(ctx)
        if f"{computed:.2f}" != f"{evidence:.2f}":
            text += (
                f" With the stated procedure confidences that is {computed:.2f}; the evidence alone gives "
                f"{evidence:.2f}."
            )
        return text

    def fastest(self) -> RollbackProcedure | None:
        # min() keeps the first of equals, so ties go to the procedure listed first (the preferred one).
        return min(self.procedures, key=lambda p: p.time_to_rollback_minutes, default=None)

    # --- coverage of the must-have features --------------------------------------------------------

    def must_have_coverage(self, ctx: ReleaseContext) -> list[tuple[Any, RollbackProcedure | None]]:
        """Each must-have feature of the release plan with the fastest procedure that covers it (the
        first listed among equals), or None when no procedure covers it."""
        out: list[tuple[Any, RollbackProcedure | None]] = []
        for feature in release_features(ctx):
            if getattr(feature, "batch", None) != "must_have":
                continue
            covering = [p for p in self.procedures if covers(p, feature)]
            out.append((feature, min(covering, key=lambda p: p.time_to_rollback_minutes, default=None)))
        return out

    def slowest_needed(self, ctx: ReleaseContext) -> tuple[Any, RollbackProcedure] | None:
        """The slowest rollback a must-have feature may need: over the must-have features, the one whose
        fastest covering procedure takes longest (the first such feature among equals)."""
        covered = [(f, p) for f, p in self.must_have_coverage(ctx) if p is not None]
        if not covered:
            return None
        return max(covered, key=lambda fp: fp[1].time_to_rollback_minutes)


# --- coverage helpers (module level so tools.review can reuse them) -------------------------------


def release_features(ctx: ReleaseContext) -> list[Any]:
    """Features of the stored release plan that ship in this release (deferred ones are left out)."""
    plan = ctx.plan
    if plan is None:
        return []
    return [f for f in (getattr(plan, "features", None) or []) if getattr(f, "batch", None) != "deferred"]


def covers(proc: RollbackProcedure, feature: Any) -> bool:
    """Whether ``proc`` undoes ``feature`` (a release-plan feature with ``name`` and ``flag``)."""
    flag = getattr(feature, "flag", None)
    # Turning flags off cannot undo a feature that has no flag, whatever applies_to says.
    if proc.type == "feature_flag" and not flag:
        return False
    targets = {a.casefold() for a in proc.applies_to}
    names = {str(feature.name).casefold()} | ({str(flag).casefold()} if flag else set())
    return WHOLE_RELEASE in targets or bool(targets & names)


def _applies_to_all(proc: RollbackProcedure) -> bool:
    return any(a.casefold() == WHOLE_RELEASE for a in proc.applies_to)
