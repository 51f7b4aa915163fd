"""Step 3 of the skill: the rollback strategy (tool ``design_rollback``).

The skill's template has agents type confidence values by hand (0.95/0.70/0.99/0.50) and offers
``alembic downgrade -1`` as the database rollback. Here the confidence is worked out from what was
actually rehearsed, and destructive down-migrations are flagged in favour of expand/contract.

Confidence rule (also rendered in the Markdown and returned as ``computed()["rule"]``):

* Per procedure: the stated ``confidence`` if given. Otherwise, when a rehearsal met the stated
  time-to-rollback and found no issues, a baseline by complexity (very_low 0.99, low 0.95,
  medium 0.90, high 0.85, very_high 0.80); without such a rehearsal that baseline is capped at 0.70.
  A data-loss risk caps it again (possible 0.80, certain 0.60).
* Overall (when not stated): for each feature of the release plan that is not deferred, the best
  confidence among the procedures that cover it, then the lowest of those, since the release is only
  as recoverable as its least recoverable feature. A feature no procedure covers counts as 0. With no
  release plan (or one without features) the overall is the best confidence among the procedures that
  apply to ``all`` (among all procedures when none does).

The rule is monotone in the evidence: adding a rehearsal never lowers a confidence (a failed one
counts like none), and a slower rehearsal never raises it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .base import ArtifactKind, Finding, ReleaseContext, SpecModel, error, warning
from .common import MAX_ITEMS, LongText, MetricCondition, ShortText, Text, Version

ProcedureType = Literal["feature_flag", "application", "database", "infrastructure"]
Level = Literal["very_low", "low", "medium", "high", "very_high"]
DataLossRisk = Literal["none", "possible", "certain"]

PROCEDURE_NAMES: dict[str, str] = {
    "feature_flag": "Feature Flag Toggle",
    "application": "Application Code",
    "database": "Database Migration",
    "infrastructure": "Infrastructure",
}

REHEARSED_BY_COMPLEXITY: dict[str, float] = {
    "very_low": 0.99,
    "low": 0.95,
    "medium": 0.90,
    "high": 0.85,
    "very_high": 0.80,
}
UNREHEARSED_CAP = 0.70
DATA_LOSS_CAP: dict[str, float] = {"none": 1.0, "possible": 0.80, "certain": 0.60}
HIGH_CONFIDENCE = 0.9
WHOLE_RELEASE = "all"

PER_PROCEDURE_RULE = (
    "each procedure's is its stated confidence, else 0.99/0.95/0.90/0.85/0.80 by complexity (very low to "
    "very high) when a rehearsal met the stated time with no issues found, capped at 0.70 without such a "
    "rehearsal, at 0.80 when data loss is possible and at 0.60 when it is certain"
)

# Down-migrations that drop what the release added; the skill's `alembic downgrade -1` is the example.
_DOWN_MIGRATION = re.compile(
    r"\balembic\s+downgrade\b|\bflyway\s+undo\b|\bliquibase\b.*\brollback|\bmigrate\s+down\b", re.IGNORECASE
)


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


class RollbackSpec(SpecModel):
    """The rollback strategy of a release: when to roll back, how, and how sure we are it works."""

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

    # --- protocol -------------------------------------------------------------------------------

    def title(self, ctx: ReleaseContext) -> str:
        return f"Rollback Strategy: v{self.version}"

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        findings: list[Finding] = []
        findings += self._check_procedures()
        findings += self._check_triggers()
        findings += self._check_communication()
        return findings

    def confidence(self, ctx: ReleaseContext) -> float:
        """The stated overall confidence, else the one the evidence supports (module docstring)."""
        return self.stated_confidence if self.stated_confidence is not None else self.evidence_confidence(ctx)

    def computed(self, ctx: ReleaseContext) -> dict[str, Any]:
        fastest = self.fastest()
        return {
            "overall_confidence": self.confidence(ctx),
            "evidence_confidence": self.evidence_confidence(ctx),
            "confidence_by_type": self.confidence_by_type(),
            "fastest": None
            if fastest is None
            else {"type": fastest.type, "minutes": fastest.time_to_rollback_minutes},
            "rule": self.rule(ctx),
        }

    def render(self, ctx: ReleaseContext) -> str:
        parts = [f"# {self.title(ctx)}"]
        parts += self._render_criteria()
        parts += self._render_procedures()
        parts += self._render_testing()
        parts += self._render_communication()
        parts += self._render_confidence(ctx)
        return "\n\n".join(parts) + "\n"

    # --- confidence -----------------------------------------------------------------------------

    def confidence_by_type(self) -> dict[str, float]:
        result: dict[str, float] = {}
        for proc in self.procedures:
            result.setdefault(proc.type, procedure_confidence(proc))
        return result

    def evidence_confidence(self, ctx: ReleaseContext) -> float:
        """The overall confidence by the module's rule, ignoring a stated overall value."""
        features = release_features(ctx)
        scores = [procedure_confidence(p) for p in self.procedures]
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
        if self.stated_confidence is not None:
            return (
                f"Overall {self.stated_confidence:.2f} was stated by the caller; the evidence rule gives "
                f"{self.evidence_confidence(ctx):.2f}: {overall}; {PER_PROCEDURE_RULE}."
            )
        return f"Overall confidence is {overall}; {PER_PROCEDURE_RULE}."

    def fastest(self) -> RollbackProcedure | None:
        # min() keeps the first of equals, so ties go to the procedure listed first (the preferred one).
        return min(self.procedures, key=lambda p: p.time_to_rollback_minutes, default=None)

    # --- checks ---------------------------------------------------------------------------------

    def _check_procedures(self) -> list[Finding]:
        findings: list[Finding] = []
        seen: dict[str, int] = {}
        for i, proc in enumerate(self.procedures):
            path = f"procedures[{i}]"
            if proc.type in seen:
                findings.append(
                    error(
                        "duplicate_procedure_type",
                        f"procedure {i + 1} repeats type {proc.type!r} (first used by procedure "
                        f"{seen[proc.type] + 1}); merge them into one procedure per type",
                        f"{path}.type",
                    )
                )
            else:
                seen[proc.type] = i
            best = proc.time_to_rollback_best_minutes
            if best is not None and best > proc.time_to_rollback_minutes:
                findings.append(
                    error(
                        "time_range_inverted",
                        f"best case {best:g} min is longer than the stated worst case "
                        f"{proc.time_to_rollback_minutes:g} min; swap them",
                        f"{path}.time_to_rollback_best_minutes",
                    )
                )
            reh = proc.rehearsal
            if reh is not None and reh.measured_minutes > proc.time_to_rollback_minutes:
                findings.append(
                    warning(
                        "rehearsal_slower_than_stated",
                        f"the {PROCEDURE_NAMES[proc.type]} rehearsal on {reh.date.isoformat()} took "
                        f"{reh.measured_minutes:g} min but the procedure states "
                        f"{proc.time_to_rollback_minutes:g} min; raise time_to_rollback_minutes to the "
                        "measured time or speed the procedure up and rehearse again",
                        f"{path}.rehearsal.measured_minutes",
                    )
                )
            if proc.confidence is not None and proc.confidence > HIGH_CONFIDENCE and reh is None:
                findings.append(
                    warning(
                        "confidence_without_rehearsal",
                        f"the {PROCEDURE_NAMES[proc.type]} procedure claims confidence "
                        f"{proc.confidence:.2f} but was never rehearsed; add rehearsal evidence or omit "
                        "confidence to have it computed",
                        f"{path}.confidence",
                    )
                )
            if proc.data_loss_risk != "none" and not proc.data_loss_mitigation:
                findings.append(
                    warning(
                        "data_loss_without_mitigation",
                        f"the {PROCEDURE_NAMES[proc.type]} procedure has {proc.data_loss_risk} data loss "
                        "but no mitigation; say how the lost data is recovered (e.g. snapshot before "
                        "rolling back)",
                        f"{path}.data_loss_mitigation",
                    )
                )
            if proc.type == "database" and proc.data_loss_risk != "none":
                for j, step in enumerate(proc.steps):
                    if any(_DOWN_MIGRATION.search(t) for t in (step.action, step.command or "")):
                        findings.append(
                            warning(
                                "destructive_database_rollback",
                                "the database rollback runs a down-migration that loses data written since "
                                "the release; use expand/contract instead: ship only additive schema "
                                "changes, roll back by redeploying the previous application version, and "
                                "drop old columns (contract) only after the rollback window has passed",
                                f"{path}.steps[{j}]",
                            )
                        )
                        break
        if (
            self.stated_confidence is not None
            and self.stated_confidence > HIGH_CONFIDENCE
            and all(p.rehearsal is None for p in self.procedures)
        ):
            findings.append(
                warning(
                    "confidence_without_rehearsal",
                    f"overall confidence {self.stated_confidence:.2f} is claimed but no procedure was "
                    "rehearsed; add rehearsal evidence or omit confidence to have it computed",
                    "confidence",
                )
            )
        return findings

    def _check_triggers(self) -> list[Finding]:
        if any(t.window_minutes for t in self.automatic_triggers):
            return []
        what = (
            "no automatic rollback trigger"
            if not self.automatic_triggers
            else "no automatic trigger has a sustained window, so one noisy sample would roll back"
        )
        return [
            warning(
                "no_sustained_trigger",
                f"{what}; add one such as error_rate > 5 percent with window_minutes 5",
                "automatic_triggers",
            )
        ]

    def _check_communication(self) -> list[Finding]:
        findings: list[Finding] = []
        for i, rule in enumerate(self.communication.rules):
            lo, hi = rule.min_outage_minutes, rule.max_outage_minutes
            if lo is not None and hi is not None and lo >= hi:
                findings.append(
                    error(
                        "outage_range_inverted",
                        f"min_outage_minutes {lo:g} is not below max_outage_minutes {hi:g}",
                        f"communication.rules[{i}].min_outage_minutes",
                    )
                )
        return findings

    # --- Markdown -------------------------------------------------------------------------------

    def _render_criteria(self) -> list[str]:
        blocks: list[str] = []
        if self.automatic_triggers:
            blocks.append(
                "**Automatic Rollback Triggers:**\n" + bullets(t.describe() for t in self.automatic_triggers)
            )
        if self.manual_triggers:
            blocks.append("**Manual Rollback Triggers:**\n" + bullets(self.manual_triggers))
        return ["## Rollback Decision Criteria", *blocks] if blocks else []

    def _render_procedures(self) -> list[str]:
        out = ["## Rollback Procedures"]
        last = len(self.procedures) - 1
        for i, proc in enumerate(self.procedures):
            role = "Preferred" if i == 0 else ("Last Resort" if i == last else "If Needed")
            out.append(f"### Rollback Type {i + 1}: {PROCEDURE_NAMES[proc.type]} ({role})")
            out.append(
                bullets(
                    [
                        f"**Complexity:** {level_text(proc.complexity)}",
                        f"**Time to rollback:** {time_range(proc)}",
                        f"**Risk:** {level_text(proc.risk)}",
                        f"**Applies to:** {applies_text(proc.applies_to)}",
                    ]
                )
            )
            out.append("**Procedure:**\n" + numbered(_step_text(s) for s in proc.steps))
            if proc.prerequisites:
                out.append("**Prerequisites:**\n" + bullets(proc.prerequisites))
            loss = f"**Data Loss Risk:** {proc.data_loss_risk.capitalize()}"
            if proc.data_loss_mitigation:
                loss += "\n" + bullets([f"Mitigation: {proc.data_loss_mitigation}"])
            out.append(loss)
            out.append("**Testing:**\n" + bullets([_testing_line(proc)]))
        return out

    def _render_testing(self) -> list[str]:
        out: list[str] = []
        for i, proc in enumerate(self.procedures):
            reh = proc.rehearsal
            if reh is None:
                continue
            name = f"Type {i + 1}, {PROCEDURE_NAMES[proc.type]}"
            lines = [
                f"Conducted: {reh.date.isoformat()}" + (f" ({reh.environment})" if reh.environment else "")
            ]
            if reh.participants:
                lines.append("Participants: " + ", ".join(reh.participants))
            lines.append("Issues found: " + ("; ".join(reh.issues_found) if reh.issues_found else "None"))
            verdict = "within" if reh.measured_minutes <= proc.time_to_rollback_minutes else "SLOWER than"
            lines.append(
                f"Rollback time: {duration(reh.measured_minutes)} ({verdict} the stated "
                f"{duration(proc.time_to_rollback_minutes)})"
            )
            out.append(f"**Rollback rehearsal ({name}):**\n" + bullets(lines))
        never = [
            f"Type {i + 1}, {PROCEDURE_NAMES[p.type]}"
            for i, p in enumerate(self.procedures)
            if p.rehearsal is None
        ]
        if never:
            out.append("**Not rehearsed:** " + "; ".join(never))
        return ["## Rollback Testing", *out]

    def _render_communication(self) -> list[str]:
        comm = self.communication
        out: list[str] = []
        if comm.internal_template:
            label = f"Internal ({comm.internal_channel})" if comm.internal_channel else "Internal"
            out.append(f"**{label}:**\n" + fenced(comm.internal_template))
        elif comm.internal_channel:
            out.append(f"**Internal:** {comm.internal_channel}")
        if comm.external_template:
            label = f"External ({comm.external_channel})" if comm.external_channel else "External"
            out.append(f"**{label}:**\n" + fenced(comm.external_template))
        elif comm.external_channel:
            out.append(f"**External:** {comm.external_channel}")
        if comm.rules:
            lines = []
            for rule in comm.rules:
                line = f"{outage_text(rule)}: "
                if rule.channels:
                    line += ", ".join(rule.channels) + (f" to {rule.audience}" if rule.audience else "")
                else:
                    line += "no notification needed"
                if rule.message:
                    line += "\n" + fenced(rule.message)
                lines.append(line)
            out.append("**Customer notification:**\n" + bullets(lines))
        return ["## Rollback Communication", *out] if out else []

    def _render_confidence(self, ctx: ReleaseContext) -> list[str]:
        lines = []
        for i, proc in enumerate(self.procedures):
            lines.append(
                f"**Type {i + 1} ({PROCEDURE_NAMES[proc.type]}):** {procedure_confidence(proc):.2f} - "
                f"{confidence_reason(proc)}"
            )
        lines.append(f"**Overall Rollback Confidence:** {self.confidence(ctx):.2f}")
        return ["## Confidence Levels", bullets(lines), f"Rule: {self.rule(ctx)}"]


# --- confidence helpers (module level so the rollout and summary code can reuse them) -------------


def rehearsal_passed(proc: RollbackProcedure) -> bool:
    reh = proc.rehearsal
    return reh is not None and reh.measured_minutes <= proc.time_to_rollback_minutes and not reh.issues_found


def procedure_confidence(proc: RollbackProcedure) -> float:
    """The stated confidence, else the one the evidence supports (see the module docstring)."""
    if proc.confidence is not None:
        return proc.confidence
    value = REHEARSED_BY_COMPLEXITY[proc.complexity]
    if not rehearsal_passed(proc):
        value = min(value, UNREHEARSED_CAP)
    return min(value, DATA_LOSS_CAP[proc.data_loss_risk])


def confidence_reason(proc: RollbackProcedure) -> str:
    if proc.confidence is not None:
        return "stated" + ("" if proc.rehearsal else ", not rehearsed")
    reh = proc.rehearsal
    if reh is None:
        why = f"not rehearsed, capped at {UNREHEARSED_CAP:.2f}"
    elif reh.measured_minutes > proc.time_to_rollback_minutes:
        why = f"rehearsal slower than stated, capped at {UNREHEARSED_CAP:.2f}"
    elif reh.issues_found:
        why = f"rehearsal found issues, capped at {UNREHEARSED_CAP:.2f}"
    else:
        complexity = level_text(proc.complexity).lower()
        why = f"rehearsed {reh.date.isoformat()} within the stated time, {complexity} complexity"
    if proc.data_loss_risk != "none":
        why += f"; data loss {proc.data_loss_risk}, capped at {DATA_LOSS_CAP[proc.data_loss_risk]:.2f}"
    return why


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


# --- Markdown helpers (also used by tools.runbook) -----------------------------------------------


def _indent(text: str, prefix: str) -> str:
    first, *rest = text.split("\n")
    return "\n".join([first, *[(prefix + line) if line else "" for line in rest]])


def bullets(items: Iterable[str]) -> str:
    return "\n".join("- " + _indent(item, "  ") for item in items)


def numbered(items: Iterable[str]) -> str:
    return "\n".join(f"{n}. " + _indent(item, "   ") for n, item in enumerate(items, 1))


def fenced(text: str, lang: str = "") -> str:
    # A fence longer than any backtick run inside keeps user text from closing the block early.
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def inline_code(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def level_text(level: str) -> str:
    return level.replace("_", " ").capitalize()


def duration(minutes: float) -> str:
    if minutes < 1:
        seconds = minutes * 60
        return f"{seconds:g} second" + ("" if seconds == 1 else "s")
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes / 60:g} hours"
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")


def time_range(proc: RollbackProcedure) -> str:
    hi, lo = proc.time_to_rollback_minutes, proc.time_to_rollback_best_minutes
    if lo is None:
        return f"up to {duration(hi)}"
    if hi >= 120 and hi % 60 == 0 and lo % 60 == 0:
        return f"{lo / 60:g}-{hi / 60:g} hours"
    return f"{lo:g}-{hi:g} minutes"


def applies_text(applies_to: list[str]) -> str:
    return ", ".join(
        "all features in this release" if a.casefold() == WHOLE_RELEASE else a for a in applies_to
    )


def outage_text(rule: NotificationRule) -> str:
    lo, hi = rule.min_outage_minutes, rule.max_outage_minutes
    if lo is not None and hi is not None:
        return f"If the outage is over {duration(lo)} and up to {duration(hi)}"
    if lo is not None:
        return f"If the outage is over {duration(lo)}"
    if hi is not None:
        return f"If the outage is up to {duration(hi)}"
    return "Any outage"


def _step_text(step: RollbackStep) -> str:
    if step.command is None:
        return step.action
    if "\n" in step.command:
        return f"{step.action}\n{fenced(step.command, 'bash')}"
    return f"{step.action}: {inline_code(step.command)}"


def _testing_line(proc: RollbackProcedure) -> str:
    reh = proc.rehearsal
    if reh is None:
        return "Not rehearsed yet"
    where = f" in {reh.environment}" if reh.environment else ""
    return f"Rehearsed {reh.date.isoformat()}{where}: {duration(reh.measured_minutes)}"


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
