"""Step 2 of the skill: how users get across one breaking change, phase by phase.

Stored as an Engram reasoning titled ``Migration Path: <change>``, one per breaking change of the
release plan. Phases are written as T-offsets (days from the release day) and turned into calendar
dates from the plan's target date. The checks hold a path to what the skill's template leaves to
hope: phases in order, expand/migrate/contract for schema changes, a measurable exit criterion
before anything is switched off, and no contract step while the release can still be rolled back.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from .base import ArtifactKind, Finding, ReleaseContext, SpecModel, error, warning
from .common import (
    MAX_ITEMS,
    LongText,
    MetricCondition,
    ShortText,
    Text,
    Version,
    format_t_offset,
    offset_date,
    parse_t_offset,
)
from .release_plan import BreakingChange, ChangeCategory, plain_date

PhaseKind = Literal[
    "announce", "dual_support", "sunset_warning", "shutdown", "expand", "migrate", "contract", "other"
]

MAX_OFFSET_DAYS = 3650


def _normalize_offset(value: Any) -> str:
    days = parse_t_offset(value)
    if abs(days) > MAX_OFFSET_DAYS:
        raise ValueError(f"a T-offset must be within {MAX_OFFSET_DAYS} days of the release (T)")
    return format_t_offset(days)


# Stored normalized ("T+0" and "T+0 days" become "T"), so a stored spec renders the same bytes.
TOffset = Annotated[
    str,
    BeforeValidator(_normalize_offset),
    StringConstraints(max_length=16),
    Field(description="Days from the release day T: 'T-90', 'T', 'T+30' (an integer such as -90 also works)"),
]

# Each kind's family and position: a later kind may not start before an earlier one of its family.
_SEQUENCE: dict[str, tuple[str, int]] = {
    "announce": ("deprecation", 0),
    "dual_support": ("deprecation", 1),
    "sunset_warning": ("deprecation", 2),
    "shutdown": ("deprecation", 3),
    "expand": ("schema", 0),
    "migrate": ("schema", 1),
    "contract": ("schema", 2),
}
_TERMINAL = ("shutdown", "contract")
_TYPE_LABEL = {"api": "API change", "database": "Database schema change", "config": "Configuration change"}


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MigrationPhase(_Part):
    """One phase of the timeline, dated by T-offsets from the release day."""

    name: ShortText = Field(description="Phase name, e.g. 'Deprecation Announcement' or 'Dual Support'")
    kind: PhaseKind = Field(
        description="announce, dual_support, sunset_warning, shutdown (API/config deprecation); expand, "
        "migrate, contract (database parallel change); or other"
    )
    start: TOffset = Field(description="First day of the phase as a T-offset, e.g. 'T-90', 'T', 'T+30'")
    end: TOffset | None = Field(
        default=None, description="Last day of the phase as a T-offset, e.g. 'T+30'; omit for a one-day event"
    )
    actions: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="What happens in this phase, e.g. ['Publish migration guide', 'Email customers']",
    )

    def start_days(self) -> int:
        return parse_t_offset(self.start)

    def end_days(self) -> int | None:
        return None if self.end is None else parse_t_offset(self.end)


class Snippet(_Part):
    """A code block shown to customers."""

    text: LongText = Field(
        description="The code or payload, verbatim, e.g. 'GET /api/v2/users?filter[name]=john'"
    )
    language: (
        Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_+.#-]{1,30}$")] | None
    ) = Field(default=None, description="Code block language, e.g. bash, json, xml, python")
    label: ShortText | None = Field(default=None, description="Caption above the block, e.g. 'Old response'")


class CustomerStep(_Part):
    """One step customers take to migrate."""

    title: ShortText = Field(description="Step title, e.g. 'Update API Client'")
    instructions: LongText = Field(
        description="What the customer does, Markdown allowed, e.g. '- Update API base URL from v1 to v2'"
    )
    code: Snippet | None = Field(default=None, description="A command or example to run")
    before: Snippet | None = Field(default=None, description="The old form, e.g. the v1 XML response")
    after: Snippet | None = Field(default=None, description="The new form, e.g. the v2 JSON response")


class SupportResource(_Part):
    """Where customers get help."""

    label: ShortText = Field(
        description="What it is, e.g. 'Migration Guide', 'Support Contact', 'Office Hours'"
    )
    detail: Text = Field(description="Where or when, e.g. 'https://docs.example.com/migrate-v2'")


class BackwardCompatibility(_Part):
    """What keeps working across the change and what does not."""

    preserved: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="What keeps working, e.g. ['All v1 endpoints available until T+60 days']",
    )
    not_compatible: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="What breaks, e.g. ['XML format no longer supported']",
    )


class RollbackPlan(_Part):
    """How to go back if the migration fails, and for how long that stays possible."""

    actions: list[Text] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="What happens if the migration fails, e.g. ['Old API can be re-enabled within 1 hour']",
    )
    window_days: int | None = Field(
        default=None,
        ge=0,
        le=MAX_OFFSET_DAYS,
        description="Days after the release during which going back to the previous version must stay "
        "possible; a contract phase must not start before it closes",
    )


ExitCriterion = MetricCondition | Text


def _offset_label(days: int) -> str:
    if days == 0:
        return "T"
    return f"{format_t_offset(days)} day{'' if abs(days) == 1 else 's'}"


def _describe(condition: MetricCondition) -> str:
    # Exit windows run to days; "for 10080 min" is unreadable, so whole days and hours are spelled out.
    text = condition.model_copy(update={"window_minutes": None}).describe()
    minutes = condition.window_minutes
    if not minutes:
        return text
    if minutes % 1440 == 0:
        n, unit = minutes // 1440, "day"
    elif minutes % 60 == 0:
        n, unit = minutes // 60, "hour"
    else:
        n, unit = minutes, "minute"
    return f"{text} for {n} {unit}{'' if n == 1 else 's'}"


def _fence(snippet: Snippet) -> str:
    # A fence longer than any backtick run inside keeps pasted Markdown from closing the block early.
    longest = run = 0
    for ch in snippet.text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{snippet.language or ''}\n{snippet.text}\n{fence}"


def _bullet(text: str) -> str:
    return "- " + text.replace("\n", "\n  ")


def _rollout_end(ctx: ReleaseContext) -> date | None:
    """The day the stored rollout plan gives up its way back: flag removal, else the last phase's end."""
    if ctx.rollout is None:
        return None
    removal = ctx.rollout.flag_removal_date()
    if removal is not None:
        return removal
    end = ctx.rollout.rollout_end()
    return end.date() if end is not None else None


def _sequence_problem(earlier: MigrationPhase, later: MigrationPhase) -> str | None:
    """Why ``later`` is misplaced relative to ``earlier``, a phase its kind must follow; else None."""
    if earlier.kind not in _SEQUENCE or later.kind not in _SEQUENCE:
        return None
    (e_family, e_rank), (family, rank) = _SEQUENCE[earlier.kind], _SEQUENCE[later.kind]
    if e_family != family or e_rank >= rank:
        return None
    if later.start_days() < earlier.start_days():
        return (
            f"{later.kind} phase {later.name!r} starts at {later.start}, before {earlier.kind} phase "
            f"{earlier.name!r} at {earlier.start}; {earlier.kind} must come first"
        )
    e_end = earlier.end_days()
    if later.kind in _TERMINAL and e_end is not None and later.start_days() < e_end:
        return (
            f"{later.kind} phase {later.name!r} starts at {later.start} while {earlier.kind} phase "
            f"{earlier.name!r} runs until {earlier.end}; start it at {earlier.end} or later"
        )
    return None


class MigrationPathSpec(SpecModel):
    """Step 2: one breaking change's migration path: dated timeline, customer steps, exit criteria."""

    model_config = ConfigDict(serialize_by_alias=True)

    version: Version = Field(description="The release that ships the breaking change, e.g. 3.0.0")
    change: ShortText = Field(
        description="Name of the breaking change as given in the release plan's breaking_changes, "
        "e.g. 'API v1 to v2'"
    )
    rationale: Text = Field(
        description="Why the change is worth breaking users, e.g. 'XML and API keys block enterprise "
        "integrations; v2 uses JSON and Bearer tokens'"
    )
    affects: list[ShortText] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Who or what is impacted, e.g. ['All API v1 integrations', 'Zapier connector']",
    )
    phases: list[MigrationPhase] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="The timeline in time order, e.g. announce T-90, dual_support T-60..T+30, "
        "sunset_warning T+30..T+60, shutdown T+60; or expand, migrate, contract for a schema change",
    )
    customer_steps: list[CustomerStep] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="What customers do to migrate, in order"
    )
    backward_compatibility: BackwardCompatibility = Field(
        default_factory=BackwardCompatibility, description="What is preserved and what is not"
    )
    rollback_plan: RollbackPlan | None = Field(
        default=None,
        description="How to go back if the migration fails, and for how long that stays possible",
    )
    exit_criteria: list[ExitCriterion] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="What must hold before the shutdown or contract phase: metric conditions such as "
        "{metric: old_api_call_share, comparator: '<', threshold: 1, unit: percent, window_minutes: 10080} "
        "and/or plain sentences",
    )
    # Exposed to callers and stored as "confidence"; the Python name differs only because the
    # ArtifactSpec protocol already uses ``confidence(ctx)`` for the method.
    stated_confidence: float = Field(
        alias="confidence",
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Confidence the path works as planned, 0.0 to 1.0, e.g. 0.85",
    )
    change_type: ChangeCategory | None = Field(
        default=None,
        description="api, database or config; omit to take it from the release plan's breaking change",
    )
    support_resources: list[SupportResource] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Guides, changelogs, contacts, office hours"
    )
    data_loss_acknowledged: bool = Field(
        default=False,
        description="Database changes only: true to accept a path without expand/migrate/contract phases, "
        "knowing a rollback may lose data written after the change",
    )

    # ----- protocol -----

    def title(self, ctx: ReleaseContext) -> str:
        return f"Migration Path: {self.change}"

    def confidence(self, ctx: ReleaseContext) -> float | None:
        return self.stated_confidence

    def planned_change(self, ctx: ReleaseContext) -> BreakingChange | None:
        if ctx.plan is None:
            return None
        key = self.change.casefold()
        return next((bc for bc in ctx.plan.breaking_changes if bc.name.casefold() == key), None)

    def effective_change_type(self, ctx: ReleaseContext) -> str | None:
        if self.change_type is not None:
            return self.change_type
        planned = self.planned_change(ctx)
        return planned.category if planned else None

    def rollback_window_end(self, ctx: ReleaseContext) -> int | None:
        """Offset (days from T) when rolling back stops being possible; the later of what is known."""
        ends: list[int] = []
        if self.rollback_plan is not None and self.rollback_plan.window_days is not None:
            ends.append(self.rollback_plan.window_days)
        end = _rollout_end(ctx)
        if end is not None and ctx.plan is not None:
            ends.append((end - ctx.plan.target_date).days)
        return max(ends) if ends else None

    # ----- checks -----

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        findings = self._check_phase_order()
        findings += self._check_exit_criteria()
        if self.rollback_plan is None:
            findings.append(
                warning(
                    "missing_rollback_plan",
                    f"migration path {self.change!r} has no rollback_plan; say how the old behaviour is "
                    "restored if the migration fails and for how many days that stays possible",
                    "rollback_plan",
                )
            )
        return findings

    def _check_phase_order(self) -> list[Finding]:
        out: list[Finding] = []
        for i, p in enumerate(self.phases):
            end = p.end_days()
            if end is not None and end < p.start_days():
                out.append(
                    error(
                        "phase_ends_before_start",
                        f"phase {p.name!r} ends at {p.end} before it starts at {p.start}; swap or fix them",
                        f"phases[{i}].end",
                    )
                )
        for i in range(1, len(self.phases)):
            prev, cur = self.phases[i - 1], self.phases[i]
            if cur.start_days() < prev.start_days():
                out.append(
                    error(
                        "phases_out_of_order",
                        f"phase {cur.name!r} ({cur.start}) is listed after {prev.name!r} ({prev.start}) but "
                        "starts earlier; list phases in time order",
                        f"phases[{i}].start",
                    )
                )
        for j, later in enumerate(self.phases):
            for earlier in self.phases:
                problem = _sequence_problem(earlier, later)
                if problem:
                    out.append(error("phases_out_of_order", problem, f"phases[{j}].start"))
        return out

    def terminal_phase(self) -> tuple[int, MigrationPhase] | None:
        return next(((i, p) for i, p in enumerate(self.phases) if p.kind in _TERMINAL), None)

    def _check_exit_criteria(self) -> list[Finding]:
        terminal = self.terminal_phase()
        if terminal is None:
            return []
        _, phase = terminal
        if not self.exit_criteria:
            return [
                warning(
                    "shutdown_without_exit_criteria",
                    f"{phase.kind} phase {phase.name!r} at {phase.start} has no exit criteria, so it happens "
                    "on its date however many users are still on the old path; add exit_criteria such as "
                    "old_api_call_share < 1 percent for 7 days",
                    "exit_criteria",
                )
            ]
        if not any(isinstance(c, MetricCondition) for c in self.exit_criteria):
            return [
                warning(
                    "exit_criteria_not_measurable",
                    f"the exit criteria before {phase.kind} phase {phase.name!r} are all prose; add at least "
                    "one metric condition (metric, comparator, threshold, unit, window_minutes) that "
                    "can be checked",
                    "exit_criteria",
                )
            ]
        return []

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

    # ----- Markdown -----

    def render(self, ctx: ReleaseContext) -> str:
        parts = [self._render_summary(ctx), self._render_timeline(ctx)]
        if self.customer_steps:
            parts.append(self._render_steps())
        if self.support_resources:
            parts.append(
                "## Support Resources\n\n"
                + "\n".join(f"**{r.label}:** {r.detail}" for r in self.support_resources)
            )
        compat = []
        if self.backward_compatibility.preserved:
            compat.append(
                "**What's preserved:**\n" + "\n".join(map(_bullet, self.backward_compatibility.preserved))
            )
        if self.backward_compatibility.not_compatible:
            compat.append(
                "**What's not compatible:**\n"
                + "\n".join(map(_bullet, self.backward_compatibility.not_compatible))
            )
        if compat:
            parts.append("## Backward Compatibility\n\n" + "\n\n".join(compat))
        if self.rollback_plan is not None:
            parts.append(self._render_rollback(ctx))
        if self.exit_criteria:
            parts.append(self._render_exit_criteria())
        parts.append(f"**Confidence:** {self.stated_confidence:.2f}")
        return "\n\n".join(parts) + "\n"

    def _render_summary(self, ctx: ReleaseContext) -> str:
        planned = self.planned_change(ctx)
        what = f"{self.change}: {planned.change}" if planned else self.change
        lines = ["## Change Summary", "", f"**What's changing:** {what}", f"**Why:** {self.rationale}"]
        if self.affects:
            lines.append(f"**Affects:** {', '.join(self.affects)}")
        change_type = self.effective_change_type(ctx)
        if change_type is not None:
            lines.append(f"**Type:** {_TYPE_LABEL[change_type]}")
        return "\n".join(lines)

    def _render_timeline(self, ctx: ReleaseContext) -> str:
        target = ctx.plan.target_date if ctx.plan is not None else None
        blocks = ["## Migration Timeline"]
        if target is None:
            blocks.append(
                f"Dates are shown as days from the release day T: no release plan with a target date is "
                f"stored for v{self.version} yet."
            )
        else:
            blocks.append(f"T is the release day, {plain_date(target)}.")
        for n, p in enumerate(self.phases, 1):
            start, end = p.start_days(), p.end_days()
            when = _offset_label(start) if end is None else f"{_offset_label(start)} to {_offset_label(end)}"
            if target is not None:
                dates = plain_date(offset_date(target, start))
                if end is not None:
                    dates += f" to {plain_date(offset_date(target, end))}"
                when += f", {dates}"
            lines = [f"**Phase {n}: {p.name} ({when})**", *map(_bullet, p.actions)]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def _render_steps(self) -> str:
        blocks = ["## Migration Steps for Customers"]
        for n, step in enumerate(self.customer_steps, 1):
            body = [f"### Step {n}: {step.title}"]
            if step.code is not None:
                body.append(self._snippet(step.code, None))
            if step.before is not None:
                body.append(self._snippet(step.before, "Before"))
            if step.after is not None:
                body.append(self._snippet(step.after, "After"))
            body.append(step.instructions)
            blocks.append("\n\n".join(body))
        return "\n\n".join(blocks)

    @staticmethod
    def _snippet(snippet: Snippet, default_label: str | None) -> str:
        label = snippet.label or default_label
        return f"**{label}:**\n{_fence(snippet)}" if label else _fence(snippet)

    def _render_rollback(self, ctx: ReleaseContext) -> str:
        assert self.rollback_plan is not None
        text = "## Rollback Plan\n\n**If migration fails:**\n" + "\n".join(
            map(_bullet, self.rollback_plan.actions)
        )
        days = self.rollback_plan.window_days
        if days is not None:
            text += f"\n\n**Rollback window:** {days} day{'' if days == 1 else 's'} after release"
            if ctx.plan is not None:
                text += f" (until {plain_date(offset_date(ctx.plan.target_date, days))})"
        return text

    def _render_exit_criteria(self) -> str:
        terminal = self.terminal_phase()
        if terminal is None:
            lead = "All of these must hold before the old path is removed:"
        else:
            i, phase = terminal
            when = _offset_label(phase.start_days())
            lead = f"Before Phase {i + 1} ({phase.name}, {when}), all of these must hold:"
        items = [_bullet(_describe(c) if isinstance(c, MetricCondition) else c) for c in self.exit_criteria]
        return "## Exit Criteria\n\n" + lead + "\n" + "\n".join(items)


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
