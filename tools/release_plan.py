"""Step 1 of the skill: a release's scope, goals, feature batches, breaking changes, dependencies, risks.

Stored as an Engram context titled ``Release Plan: v2.5.0 - Enterprise Features``. The checks catch
what the skill's free text cannot: a breaking change in a minor release, a version number that
contradicts the declared release type, feature dependency cycles and must-haves that lean on
deferred work.
"""

from __future__ import annotations

import heapq
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from .base import ArtifactKind, Finding, ReleaseContext, SpecModel, error, warning
from .common import MAX_ITEMS, ShortText, Text, Version, release_type_of, semver_key, version_core

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
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def plain_date(day: date) -> str:
    """``December 15, 2025``."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def long_date(day: date) -> str:
    """``March 16, 2026 (Monday)``."""
    return f"{plain_date(day)} ({_WEEKDAYS[day.weekday()]})"


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


_TYPE_LABEL = {
    "major": "Major (breaking changes)",
    "minor": "Minor (new features, backward compatible)",
    "patch": "Patch (fixes only, backward compatible)",
}
_SCALE_LABEL = {
    "very_low": "Very low",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "very_high": "Very high",
}
_CATEGORY_HEADING = {
    "api": "API Changes",
    "database": "Database Schema Changes",
    "config": "Configuration Changes",
}
_STATUS_LABEL = {"pending": "pending", "in_progress": "in progress", "done": "done", "blocked": "BLOCKED"}
_RISK_HEADING = {"critical": "Critical Risk", "high": "High Risk", "medium": "Medium Risk", "low": "Low Risk"}


def _bullet(text: str, indent: str = "") -> str:
    # Continuation lines are indented so a multi-line value stays inside its list item.
    return f"{indent}- " + text.replace("\n", "\n" + indent + "  ")


def _scaled(level: Scale, note: str | None) -> str:
    return f"{_SCALE_LABEL[level]} ({note})" if note else _SCALE_LABEL[level]


class ReleasePlanSpec(SpecModel):
    """Step 1: what a release contains and why, in batches, with breaking changes, dependencies, risks."""

    version: Version = Field(description="The release's SemVer version, e.g. 2.5.0 or v2.5.0")
    name: ShortText = Field(description="Release name or theme, e.g. 'Enterprise Features'")
    target_date: PlanDate = Field(description="Planned release day (T), ISO date, e.g. 2026-03-16")
    release_type: ReleaseType = Field(
        description="major (breaking changes, x.0.0), minor (compatible features, x.y.0) or "
        "patch (fixes, x.y.z)"
    )
    objectives: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Primary business objectives, e.g. ['Enable enterprise tier for B2B customers']",
    )
    success_metrics: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="How success is measured, e.g. ['50 enterprise customers signed up within 60 days']",
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

    # ----- titles -----

    def title(self, ctx: ReleaseContext) -> str:
        return f"Release Plan: v{self.version} - {self.name}"

    def task_title(self) -> str:
        """Title of the release's hub task in Engram."""
        return f"Release v{self.version} - {self.name}"

    def confidence(self, ctx: ReleaseContext) -> float | None:
        return None

    # ----- checks -----

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        findings: list[Finding] = []
        findings += self._check_versioning()
        findings += self._check_features()
        findings += self._check_dependencies()
        if self.target_date.weekday() >= 5:
            findings.append(
                warning(
                    "target_date_on_weekend",
                    f"target_date {long_date(self.target_date)} is on a weekend, when fewer people are at "
                    "hand to watch the release or roll it back; move it to a weekday",
                    "target_date",
                )
            )
        return findings

    def _incompatible(self) -> list[tuple[int, BreakingChange]]:
        return [(i, bc) for i, bc in enumerate(self.breaking_changes) if not bc.backward_compatible]

    def _check_versioning(self) -> list[Finding]:
        out: list[Finding] = []
        by_number = release_type_of(self.version)
        if by_number != self.release_type:
            example = {"major": "x.0.0", "minor": "x.y.0", "patch": "x.y.z with z > 0"}[self.release_type]
            out.append(
                error(
                    "release_type_mismatch",
                    f"version {self.version} is a {by_number} release by its number, but release_type is "
                    f"{self.release_type!r}; set release_type to {by_number!r} or use a {example} version",
                    "release_type",
                )
            )
        major = version_core(self.version)[0]
        for i, bc in self._incompatible():
            if major == 0:
                out.append(
                    warning(
                        "breaking_change_pre_1_0",
                        f"breaking change {bc.name!r} ships in {self.version}; SemVer allows that before "
                        "1.0.0, but users of 0.x still need its migration path",
                        f"breaking_changes[{i}]",
                    )
                )
            elif by_number != "major":
                next_major = f"{major + 1}.0.0"
                out.append(
                    error(
                        "breaking_change_requires_major",
                        f"breaking change {bc.name!r} is not allowed in {by_number} release {self.version} "
                        f"(SemVer: incompatible changes need a major version); release it in {next_major}, "
                        "defer it, or make it backward compatible",
                        f"breaking_changes[{i}]",
                    )
                )
        seen: dict[str, int] = {}
        for i, bc in enumerate(self.breaking_changes):
            key = bc.name.casefold()
            if key in seen:
                out.append(
                    error(
                        "duplicate_breaking_change_name",
                        f"breaking change name {bc.name!r} is used twice (also "
                        f"breaking_changes[{seen[key]}]); migration paths refer to changes by name, so "
                        "give each a unique name",
                        f"breaking_changes[{i}].name",
                    )
                )
            else:
                seen[key] = i
        return out

    def _feature_index(self) -> dict[str, int]:
        index: dict[str, int] = {}
        for i, f in enumerate(self.features):
            index.setdefault(f.name.casefold(), i)
        return index

    def _check_features(self) -> list[Finding]:
        out: list[Finding] = []
        index = self._feature_index()
        for i, f in enumerate(self.features):
            first = index[f.name.casefold()]
            if first != i:
                out.append(
                    error(
                        "duplicate_feature_name",
                        f"feature name {f.name!r} is used twice (also features[{first}]); names are compared "
                        "ignoring case, so rename or merge one",
                        f"features[{i}].name",
                    )
                )
            for j, dep in enumerate(f.depends_on):
                field = f"features[{i}].depends_on[{j}]"
                target = index.get(dep.casefold())
                if target is None:
                    out.append(
                        error(
                            "unknown_feature_dependency",
                            f"feature {f.name!r} depends on {dep!r}, which is not a feature of this plan; "
                            "add it to features or list it under prerequisites (external needs)",
                            field,
                        )
                    )
                    continue
                other = self.features[target]
                if other.batch == "deferred" and f.batch == "must_have":
                    out.append(
                        error(
                            "must_have_depends_on_deferred",
                            f"must-have feature {f.name!r} depends on deferred feature {other.name!r}; move "
                            f"{other.name!r} into this release or defer {f.name!r} too",
                            field,
                        )
                    )
                elif other.batch == "deferred" and f.batch == "nice_to_have":
                    out.append(
                        warning(
                            "nice_to_have_depends_on_deferred",
                            f"nice-to-have feature {f.name!r} depends on deferred feature {other.name!r}, so "
                            f"it cannot ship either; defer {f.name!r} or bring {other.name!r} back",
                            field,
                        )
                    )
                elif other.batch == "nice_to_have" and f.batch == "must_have":
                    out.append(
                        warning(
                            "must_have_depends_on_nice_to_have",
                            f"must-have feature {f.name!r} depends on nice-to-have {other.name!r}, which "
                            f"makes {other.name!r} a must-have in practice; move it to must_have",
                            field,
                        )
                    )
            out += self._check_feature_fields(i, f)
        for cycle in self._cycles():
            names = [self.features[k].name for k in cycle]
            out.append(
                error(
                    "feature_dependency_cycle",
                    f"features depend on each other in a cycle: {' -> '.join([*names, names[0]])}; "
                    "remove one of these depends_on entries",
                    f"features[{cycle[0]}].depends_on",
                )
            )
        return out

    def _check_feature_fields(self, i: int, f: Feature) -> list[Finding]:
        out: list[Finding] = []
        if f.batch == "deferred":
            if f.target_version is None:
                out.append(
                    warning(
                        "deferred_without_target_version",
                        f"deferred feature {f.name!r} has no target_version; name the release it moves to, "
                        "e.g. the next minor version",
                        f"features[{i}].target_version",
                    )
                )
            elif semver_key(f.target_version) <= semver_key(self.version):
                out.append(
                    warning(
                        "deferred_target_not_later",
                        f"deferred feature {f.name!r} targets {f.target_version}, which is not later than "
                        f"this release {self.version}; set a later target_version",
                        f"features[{i}].target_version",
                    )
                )
            return out
        if f.target_version is not None:
            out.append(
                warning(
                    "target_version_on_included_feature",
                    f"feature {f.name!r} is {f.batch} in this release but has target_version "
                    f"{f.target_version}; remove target_version or set batch to deferred",
                    f"features[{i}].target_version",
                )
            )
        if f.risk is None:
            out.append(
                warning(
                    "unrated_feature_risk",
                    f"feature {f.name!r} ships in this release without a risk rating; set risk "
                    "(very_low ... very_high) so the rollout and rollback can be sized",
                    f"features[{i}].risk",
                )
            )
        risky = [s for s in (f.risk, f.rollback_complexity) if s in ("high", "very_high")]
        if risky and f.flag is None:
            out.append(
                warning(
                    "high_risk_feature_without_flag",
                    f"feature {f.name!r} is rated {_SCALE_LABEL[risky[0]].lower()} but has no feature flag; "
                    "put it behind a flag (e.g. enable_<feature>) so it can be switched off without a deploy",
                    f"features[{i}].flag",
                )
            )
        return out

    def _edges(self) -> list[list[int]]:
        """For each feature, the indexes of the features it depends on (known names only, no repeats)."""
        index = self._feature_index()
        edges: list[list[int]] = []
        for f in self.features:
            targets: list[int] = []
            for dep in f.depends_on:
                t = index.get(dep.casefold())
                if t is not None and t not in targets:
                    targets.append(t)
            edges.append(targets)
        return edges

    def _cycles(self) -> list[list[int]]:
        """Each back edge a DFS in input order meets gives one cycle (deterministic)."""
        edges = self._edges()
        state = [0] * len(self.features)  # 0 new, 1 on the current path, 2 finished
        cycles: list[list[int]] = []
        for root in range(len(self.features)):
            if state[root]:
                continue
            path: list[int] = [root]
            iters = [iter(edges[root])]
            state[root] = 1
            while path:
                nxt = next(iters[-1], None)
                if nxt is None:
                    state[path.pop()] = 2
                    iters.pop()
                elif state[nxt] == 1:
                    cycles.append(path[path.index(nxt) :])
                elif state[nxt] == 0:
                    state[nxt] = 1
                    path.append(nxt)
                    iters.append(iter(edges[nxt]))
        return cycles

    def _check_dependencies(self) -> list[Finding]:
        out: list[Finding] = []
        for i, d in enumerate(self.dependencies):
            if d.status == "blocked":
                out.append(
                    warning(
                        "dependency_blocked",
                        f"dependency {d.name!r} is blocked; unblock it, drop the features that need it, or "
                        "move target_date",
                        f"dependencies[{i}].status",
                    )
                )
            elif d.status == "pending":
                out.append(
                    warning(
                        "dependency_pending",
                        f"dependency {d.name!r} has not started; give it an owner and a due date before "
                        f"{plain_date(self.target_date)}",
                        f"dependencies[{i}].status",
                    )
                )
            if d.status != "done" and d.due is not None and d.due > self.target_date:
                out.append(
                    warning(
                        "dependency_due_after_target",
                        f"dependency {d.name!r} is due {plain_date(d.due)}, after the target date "
                        f"{plain_date(self.target_date)}; bring it forward or move target_date",
                        f"dependencies[{i}].due",
                    )
                )
        return out

    # ----- computed -----

    def batch_order(self) -> list[str]:
        """Feature names with dependencies first; ties broken by batch, then by input order.

        Features caught in a cycle (an error ``check`` reports) are appended in the same tie order,
        so this never fails on a plan that is still being fixed.
        """
        edges = self._edges()
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

    def computed(self, ctx: ReleaseContext) -> dict:
        shipping = [f for f in self.features if f.batch != "deferred"]
        risks = [f.risk for f in shipping if f.risk is not None]
        flags: list[str] = []
        for f in shipping:
            if f.flag is not None and f.flag not in flags:
                flags.append(f.flag)
        return {
            "batch_order": self.batch_order(),
            "counts": {b: sum(1 for f in self.features if f.batch == b) for b in BATCH_ORDER},
            "highest_risk": max(risks, key=SCALE_ORDER.index) if risks else None,
            "flags": flags,
            "features_without_flag": [f.name for f in shipping if f.flag is None],
            "breaking_changes": [bc.name for bc in self.breaking_changes],
            "release_type_by_version": release_type_of(self.version),
            "target_date": self.target_date.isoformat(),
            "target_weekday": _WEEKDAYS[self.target_date.weekday()],
            "open_dependencies": [d.name for d in self.dependencies if d.status != "done"],
            "task_title": self.task_title(),
        }

    # ----- Markdown -----

    def render(self, ctx: ReleaseContext) -> str:
        parts = [
            "## Release Information\n\n"
            f"**Version:** v{self.version}\n"
            f"**Name:** {self.name}\n"
            f"**Target Date:** {long_date(self.target_date)}\n"
            f"**Type:** {_TYPE_LABEL[self.release_type]}"
        ]
        goals = []
        if self.objectives:
            goals.append(
                "**Primary Objectives:**\n"
                + "\n".join(f"{n}. " + o.replace("\n", "\n   ") for n, o in enumerate(self.objectives, 1))
            )
        if self.success_metrics:
            goals.append("**Success Metrics:**\n" + "\n".join(_bullet(m) for m in self.success_metrics))
        if goals:
            parts.append("## Business Goals\n\n" + "\n\n".join(goals))
        if self.features:
            parts.append(self._render_features())
        parts.append(self._render_breaking_changes())
        deps = self._render_dependencies()
        if deps:
            parts.append(deps)
        if self.risks:
            parts.append(self._render_risks())
        return "\n\n".join(parts) + "\n"

    def _render_features(self) -> str:
        headings = {
            "must_have": "### Batch 1: Core Features (Must Have)",
            "nice_to_have": "### Batch 2: Enhancement Features (Nice to Have)",
            "deferred": "### Batch 3: Deferred to Next Release",
        }
        blocks = ["## Feature Batching"]
        for batch in BATCH_ORDER:
            members = [f for f in self.features if f.batch == batch]
            if members:
                blocks.append(headings[batch])
                blocks += [self._render_feature(f) for f in members]
        return "\n\n".join(blocks)

    def _render_feature(self, f: Feature) -> str:
        lines = [f"**Feature: {f.name}**"]
        if f.batch == "deferred":
            lines.append(_bullet(f"**Reason deferred:** {f.reason}"))
            if f.target_version is not None:
                when = f" ({f.target_when})" if f.target_when else ""
                lines.append(_bullet(f"**Target:** v{f.target_version}{when}"))
            elif f.target_when:
                lines.append(_bullet(f"**Target:** {f.target_when}"))
        else:
            lines.append(_bullet(f"**Reason in release:** {f.reason}"))
        if f.depends_on:
            lines.append(_bullet(f"**Depends on:** {', '.join(f.depends_on)}"))
        if f.prerequisites or (not f.depends_on and f.batch != "deferred"):
            lines.append(_bullet(f"**Dependencies:** {', '.join(f.prerequisites) or 'None'}"))
        if f.batch == "deferred":
            return "\n".join(lines)
        if f.risk is not None:
            lines.append(_bullet(f"**Risk:** {_scaled(f.risk, f.risk_note)}"))
        if f.rollback_complexity is not None:
            lines.append(
                _bullet(f"**Rollback complexity:** {_scaled(f.rollback_complexity, f.rollback_note)}")
            )
        lines.append(_bullet(f"**Feature flag:** `{f.flag}`" if f.flag else "**Feature flag:** None"))
        return "\n".join(lines)

    def _render_breaking_changes(self) -> str:
        if not self.breaking_changes:
            kind = release_type_of(self.version)
            note = "" if kind == "major" else f" ({kind} version - backward compatible)"
            return f"## Breaking Changes\n\nNone in this release{note}"
        blocks = ["## Breaking Changes"]
        for category in ("api", "database", "config"):
            members = [bc for bc in self.breaking_changes if bc.category == category]
            if not members:
                continue
            blocks.append(f"### {_CATEGORY_HEADING[category]}")
            for bc in members:
                affects_label = "Affected endpoints" if category == "api" else "Affects"
                migration_label = "Migration strategy" if category == "database" else "Migration path"
                lines = [f"**{bc.name}**", _bullet(f"**Change:** {bc.change}")]
                if bc.affects:
                    lines.append(_bullet(f"**{affects_label}:** {', '.join(bc.affects)}"))
                lines.append(_bullet(f"**{migration_label}:** {bc.migration}"))
                if bc.deprecation_period_days is not None:
                    lines.append(_bullet(f"**Deprecation period:** {bc.deprecation_period_days} days"))
                compat = "Yes" if bc.backward_compatible else "No"
                if bc.compatibility_details:
                    compat += f" - {bc.compatibility_details}"
                lines.append(_bullet(f"**Backward compatibility:** {compat}"))
                if bc.rollback_complexity is not None:
                    lines.append(_bullet(f"**Rollback complexity:** {_SCALE_LABEL[bc.rollback_complexity]}"))
                blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def _render_dependencies(self) -> str | None:
        groups = []
        for scope, label in (("internal", "Internal"), ("external", "External")):
            members = [d for d in self.dependencies if d.scope == scope]
            if not members:
                continue
            lines = [f"**{label}:**"]
            for d in members:
                state = _STATUS_LABEL[d.status]
                if d.due is not None:
                    state += (
                        f" by {plain_date(d.due)}" if d.status == "done" else f", due {plain_date(d.due)}"
                    )
                notes = f" - {d.notes}" if d.notes else ""
                lines.append(_bullet(f"{d.name} ({state}){notes}"))
            groups.append("\n".join(lines))
        return "## Dependencies\n\n" + "\n\n".join(groups) if groups else None

    def _render_risks(self) -> str:
        blocks = ["## Risks"]
        for level in ("critical", "high", "medium", "low"):
            members = [r for r in self.risks if r.level == level]
            if not members:
                continue
            items = [
                _bullet(r.description) + "\n" + _bullet(f"**Mitigation:** {r.mitigation}", "  ")
                for r in members
            ]
            blocks.append(f"### {_RISK_HEADING[level]}\n" + "\n".join(items))
        return "\n\n".join(blocks)


KIND = ArtifactKind(
    name="release_plan",
    spec=ReleasePlanSpec,
    entity_type="context",
    title_prefix="Release Plan:",
    tag=None,
    link_type="references",
    tool="create_release_plan",
    tool_title="Create or update a release plan",
    next_step="design_migration_path for each breaking change, else design_rollback",
    slot="plan",
    accepts_task_id=True,
)
