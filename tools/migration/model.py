"""Migration path input: phases dated by T-offsets, customer steps, exit criteria, and the spec's fields.

``MigrationPathFields`` holds every field of ``design_migration_path`` and the lookups that the checks,
the Markdown and the computed values share: the release plan's matching breaking change, the change
type, the terminal phase and the end of the rollback window. It imports neither ``checks`` nor ``render``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from ..base import ReleaseContext, SpecModel
from ..common import (
    MAX_ITEMS,
    LongText,
    MetricCondition,
    ShortText,
    Text,
    Version,
    format_t_offset,
    parse_t_offset,
)
from ..destructive import negated, removes_old_path
from ..release_plan import BreakingChange, ChangeCategory

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


# The phase kinds that switch the old path off: the exit criteria gate the first of them.
TERMINAL = ("shutdown", "contract")
# The phase kinds whose whole point is telling users; a phase of another kind tells them when one of
# its actions does (``tells_users``).
TELLING = ("announce", "sunset_warning")
# The phase kinds that put the new path in users' hands next to the old one.
BRIDGE = ("dual_support", "migrate")

# An action that tells users about the change: announcing, notifying, emailing, publishing a guide or
# changelog, deprecation headers and warnings, banners, outreach.
_TELLS = re.compile(
    r"\b(?:announc\w*|notif\w*|e-?mail\w*|mail(?:ing|s)?|publish\w*|blog\w*|changelog|release\s+notes"
    r"|newsletter|deprecat\w*\s+(?:warning|header|notice|banner|message)s?|sunset\s+headers?|warn\w*"
    r"|banners?|status\s+page|outreach|inform(?:s|ed|ing)?|tell|contact\w*\s+(?:customers|users|clients|partners))\b",
    re.IGNORECASE,
)


def tells_users(text: str) -> bool:
    """Whether a phase action tells users about the change (and does not say it does not)."""
    return any(not negated(text, m.start()) for m in _TELLS.finditer(text))


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

    def removes_old(self) -> bool:
        """Whether this phase takes the old path away: a shutdown or contract, or a phase of another
        kind (not one that only tells users) whose actions drop, remove or switch off the old thing."""
        if self.kind in TERMINAL:
            return True
        return self.kind not in TELLING and any(removes_old_path(a) for a in self.actions)

    def tells(self) -> bool:
        """Whether this phase tells users about the change: announce, sunset_warning, or an action
        that announces, notifies, emails or publishes."""
        return self.kind in TELLING or any(tells_users(a) for a in self.actions)

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


def _rollout_end(ctx: ReleaseContext) -> date | None:
    """The day the stored rollout plan gives up its way back: flag removal, else the last phase's end."""
    if ctx.rollout is None:
        return None
    removal = ctx.rollout.flag_removal_date()
    if removal is not None:
        return removal
    end = ctx.rollout.rollout_end()
    return end.date() if end is not None else None


class MigrationPathFields(SpecModel):
    """All fields of a migration path, and the lookups its checks, Markdown and computed values share."""

    model_config = ConfigDict(serialize_by_alias=True)

    version: Version = Field(description="The release that ships the breaking change, e.g. 3.0.0")
    change: ShortText = Field(
        description="The breaking change's name in the release plan, e.g. 'API v1 to v2'"
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
        description="Database only: true accepts a path without expand/migrate/contract, "
        "knowing a rollback may lose data written after the change",
    )

    # ----- lookups shared by the checks, the Markdown and the computed values -----

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

    def terminal_phase(self) -> tuple[int, MigrationPhase] | None:
        return next(((i, p) for i, p in enumerate(self.phases) if p.kind in TERMINAL), None)

    def removal_phases(self) -> list[tuple[int, MigrationPhase]]:
        """Every phase that takes the old path away (``MigrationPhase.removes_old``), by index."""
        return [(i, p) for i, p in enumerate(self.phases) if p.removes_old()]

    def first_removal(self) -> tuple[int, MigrationPhase] | None:
        """The phase that takes the old path away first (the earliest start; the first listed of equals)."""
        return min(self.removal_phases(), key=lambda ip: ip[1].start_days(), default=None)

    def first_telling(self) -> tuple[int, MigrationPhase] | None:
        """The phase that tells users first (the earliest start; the first listed of equals)."""
        telling = [(i, p) for i, p in enumerate(self.phases) if p.tells()]
        return min(telling, key=lambda ip: ip[1].start_days(), default=None)
