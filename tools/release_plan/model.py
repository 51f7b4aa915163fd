"""The release plan's input: its sub-models, constants, date helpers and ``ReleasePlanFields``.

``ReleasePlanFields`` holds every field of the spec and the lookups derived from them (the feature
index, the dependency edges, the batch order) that ``checks``, ``render`` and ``computed`` share.
Nothing here imports the checks or the rendering.
"""

from __future__ import annotations

import heapq
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ..base import SpecModel
from ..calendar import ReleaseCalendar
from ..common import MAX_ITEMS, ShortText, Text, Version

Scale = Literal["very_low", "low", "medium", "high", "very_high"]
Batch = Literal["must_have", "nice_to_have", "deferred"]
ReleaseType = Literal["major", "minor", "patch"]
ChangeCategory = Literal["api", "database", "config"]
DependencyScope = Literal["internal", "external"]
DependencyStatus = Literal["pending", "in_progress", "done", "blocked"]
RiskLevel = Literal["low", "medium", "high", "critical"]

SCALE_ORDER: tuple[Scale, ...] = ("very_low", "low", "medium", "high", "very_high")
BATCH_ORDER: tuple[Batch, ...] = ("must_have", "nice_to_have", "deferred")

# Keys as LaunchDarkly, Unleash and flagd all accept them, so a flag named here can be created as is.
FlagName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,99}$"),
]

# English names spelled out: strftime's %A/%B follow the process locale, and render must not.
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def plain_date(day: date) -> str:
    """``December 15, 2025``."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def long_date(day: date) -> str:
    """``March 16, 2026 (Monday)``."""
    return f"{plain_date(day)} ({WEEKDAYS[day.weekday()]})"


def _sane_date(value: date) -> date:
    # Bounded so T-offset arithmetic (up to ten years either way) can never overflow ``date``.
    if not 1970 <= value.year <= 2999:
        raise ValueError("must be a date between 1970-01-01 and 2999-12-31")
    return value


PlanDate = Annotated[date, AfterValidator(_sane_date)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Feature(_Part):
    """One feature considered for the release, with its batch, risk and flag."""

    name: ShortText = Field(
        description="Feature name, unique in the plan, e.g. 'Payment Processing (Stripe)'"
    )
    batch: Batch = Field(
        description="must_have (core: the release waits for it), nice_to_have (ships if ready) or "
        "deferred (moved to a later release)"
    )
    reason: Text = Field(
        description="Why it is in this release, or for a deferred feature why it was deferred, "
        "e.g. 'Required for monetization, blocks enterprise tier'"
    )
    depends_on: list[ShortText] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Names of other features in this plan that must ship first, e.g. ['Advanced Search']",
    )
    prerequisites: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="External things it needs, free text, e.g. ['Stripe production account approved']",
    )
    risk: Scale | None = Field(
        default=None, description="How risky shipping it is: very_low, low, medium, high or very_high"
    )
    risk_note: Text | None = Field(
        default=None, description="Why that risk, e.g. 'external integration, financial transactions'"
    )
    rollback_complexity: Scale | None = Field(
        default=None, description="How hard it is to undo, on the same scale as risk"
    )
    rollback_note: Text | None = Field(
        default=None, description="Why that rollback complexity, e.g. 'must not lose payment data'"
    )
    flag: FlagName | None = Field(
        default=None,
        description="Feature-flag key that turns it off without a deploy, e.g. enable_payment_processing "
        "(letters, digits, _ . -; starts with a letter)",
    )
    target_version: Version | None = Field(
        default=None, description="Deferred features only: the release it moves to, e.g. 2.6.0"
    )
    target_when: ShortText | None = Field(
        default=None, description="Deferred features only: when that release is expected, e.g. 'April 2026'"
    )


class BreakingChange(_Part):
    """An incompatible change; each needs a migration path (design_migration_path) named after it."""

    name: ShortText = Field(
        description="Short unique name; a migration path refers to it by this name, e.g. 'API v1 to v2'"
    )
    category: ChangeCategory = Field(description="api, database (schema) or config")
    change: Text = Field(description="What changes, e.g. 'Rename column user_name to username'")
    affects: list[ShortText] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Endpoints, tables, settings or customers affected, e.g. ['GET /api/v1/users']",
    )
    migration: Text = Field(
        description="How users upgrade, e.g. 'Add new column, backfill, then drop the old one'"
    )
    deprecation_period_days: int | None = Field(
        default=None, ge=0, le=3650, description="Days the old behaviour stays available after announcement"
    )
    backward_compatible: bool = Field(
        default=False, description="True if old clients and configs keep working unchanged"
    )
    compatibility_details: Text | None = Field(
        default=None, description="What still works and what does not, e.g. 'old variable read until 3.1'"
    )
    rollback_complexity: Scale | None = Field(
        default=None, description="How hard this change is to undo: very_low ... very_high"
    )


class Dependency(_Part):
    """Something the release needs from another team, service or vendor."""

    name: ShortText = Field(description="What the release needs, e.g. 'Elasticsearch cluster provisioned'")
    scope: DependencyScope = Field(description="internal (our teams) or external (vendors, infrastructure)")
    status: DependencyStatus = Field(description="pending (not started), in_progress, done or blocked")
    due: PlanDate | None = Field(default=None, description="When it must be (or was) done, e.g. 2026-03-05")
    notes: Text | None = Field(default=None, description="Anything else, e.g. 'valid until 2027'")


class Risk(_Part):
    """A known risk and what reduces it."""

    description: Text = Field(
        description="The risk, e.g. 'Payment integration edge cases: refunds, disputes, failed charges'"
    )
    level: RiskLevel = Field(description="low, medium, high or critical")
    mitigation: Text = Field(
        description="What reduces it, e.g. 'Test with Stripe test cards, gradual rollout'"
    )


SCALE_LABEL = {
    "very_low": "Very low",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "very_high": "Very high",
}


class ReleasePlanFields(SpecModel):
    """The release plan's fields and the lookups derived from them; ``ReleasePlanSpec`` adds behaviour."""

    version: Version = Field(description="The release's SemVer version, e.g. 2.5.0 or v2.5.0")
    name: ShortText = Field(description="Release name or theme, e.g. 'Enterprise Features'")
    target_date: PlanDate = Field(description="Planned release day (T), ISO date, e.g. 2026-03-16")
    release_type: ReleaseType = Field(
        description="major (breaking, x.0.0), minor (features, x.y.0) or patch (fixes, x.y.z)"
    )
    objectives: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Business objectives, e.g. ['Enable the enterprise tier']",
    )
    success_metrics: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="How success is measured, e.g. ['50 enterprise sign-ups in 60 days']",
    )
    features: list[Feature] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Every feature considered, with its batch"
    )
    breaking_changes: list[BreakingChange] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Incompatible API, database or config changes; empty for a compatible release. "
        "Each needs a migration path (design_migration_path) in a major release",
    )
    dependencies: list[Dependency] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="What must be in place before the release, internal or external",
    )
    risks: list[Risk] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Known risks with their mitigation"
    )
    calendar: ReleaseCalendar | None = Field(
        default=None,
        description="Holidays (by country) and freeze windows every dated step must avoid",
    )

    def feature_index(self) -> dict[str, int]:
        """Each feature's name, casefolded, to the index of its first occurrence."""
        index: dict[str, int] = {}
        for i, f in enumerate(self.features):
            index.setdefault(f.name.casefold(), i)
        return index

    def edges(self) -> list[list[int]]:
        """For each feature, the indexes of the features it depends on (known names only, no repeats)."""
        index = self.feature_index()
        edges: list[list[int]] = []
        for f in self.features:
            targets: list[int] = []
            for dep in f.depends_on:
                t = index.get(dep.casefold())
                if t is not None and t not in targets:
                    targets.append(t)
            edges.append(targets)
        return edges

    def batch_order(self) -> list[str]:
        """Feature names with dependencies first; ties broken by batch, then by input order.

        Features caught in a cycle (an error ``check`` reports) are appended in the same tie order,
        so this never fails on a plan that is still being fixed.
        """
        edges = self.edges()
        rank = {b: k for k, b in enumerate(BATCH_ORDER)}
        waiting = [len(set(e)) for e in edges]
        dependents: list[list[int]] = [[] for _ in self.features]
        for i, targets in enumerate(edges):
            for t in targets:
                dependents[t].append(i)
        heap = [(rank[f.batch], i) for i, f in enumerate(self.features) if waiting[i] == 0]
        heapq.heapify(heap)
        order: list[int] = []
        while heap:
            _, i = heapq.heappop(heap)
            order.append(i)
            for d in dependents[i]:
                waiting[d] -= 1
                if waiting[d] == 0:
                    heapq.heappush(heap, (rank[self.features[d].batch], d))
        placed = set(order)
        order += sorted(
            (i for i in range(len(self.features)) if i not in placed),
            key=lambda i: (rank[self.features[i].batch], i),
        )
        return [self.features[i].name for i in order]
