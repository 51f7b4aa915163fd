"""The release plan as Markdown, in the skill's layout, and the labels only the Markdown uses.

Plain functions over ``ReleasePlanFields``; the output must stay byte for byte what the golden
files under ``tests/unit/golden`` hold.
"""

from __future__ import annotations

from ..calendar import ReleaseCalendar
from ..common import release_type_of
from ..markdown import escape_html
from .model import BATCH_ORDER, SCALE_LABEL, Feature, ReleasePlanFields, Scale, long_date, plain_date

_TYPE_LABEL = {
    "major": "Major (breaking changes)",
    "minor": "Minor (new features, backward compatible)",
    "patch": "Patch (fixes only, backward compatible)",
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
    return f"{SCALE_LABEL[level]} ({note})" if note else SCALE_LABEL[level]


def render(spec: ReleasePlanFields) -> str:
    """The plan as Markdown: release information, goals, batches, breaking changes, dependencies, risks."""
    parts = [
        "## Release Information\n\n"
        f"**Version:** v{spec.version}\n"
        f"**Name:** {spec.name}\n"
        f"**Target Date:** {long_date(spec.target_date)}\n"
        f"**Type:** {_TYPE_LABEL[spec.release_type]}"
    ]
    if spec.calendar is not None:
        parts.append(_render_calendar(spec.calendar))
    goals = []
    if spec.objectives:
        goals.append(
            "**Primary Objectives:**\n"
            + "\n".join(f"{n}. " + o.replace("\n", "\n   ") for n, o in enumerate(spec.objectives, 1))
        )
    if spec.success_metrics:
        goals.append("**Success Metrics:**\n" + "\n".join(_bullet(m) for m in spec.success_metrics))
    if goals:
        parts.append("## Business Goals\n\n" + "\n\n".join(goals))
    if spec.features:
        parts.append(_render_features(spec))
    parts.append(_render_breaking_changes(spec))
    deps = _render_dependencies(spec)
    if deps:
        parts.append(deps)
    if spec.risks:
        parts.append(_render_risks(spec))
    return escape_html("\n\n".join(parts) + "\n")


def _render_features(spec: ReleasePlanFields) -> str:
    headings = {
        "must_have": "### Batch 1: Core Features (Must Have)",
        "nice_to_have": "### Batch 2: Enhancement Features (Nice to Have)",
        "deferred": "### Batch 3: Deferred to Next Release",
    }
    blocks = ["## Feature Batching"]
    for batch in BATCH_ORDER:
        members = [f for f in spec.features if f.batch == batch]
        if members:
            blocks.append(headings[batch])
            blocks += [_render_feature(f) for f in members]
    return "\n\n".join(blocks)


def _render_feature(f: Feature) -> str:
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
        lines.append(_bullet(f"**Rollback complexity:** {_scaled(f.rollback_complexity, f.rollback_note)}"))
    lines.append(_bullet(f"**Feature flag:** `{f.flag}`" if f.flag else "**Feature flag:** None"))
    return "\n".join(lines)


def _render_breaking_changes(spec: ReleasePlanFields) -> str:
    if not spec.breaking_changes:
        kind = release_type_of(spec.version)
        note = "" if kind == "major" else f" ({kind} version - backward compatible)"
        return f"## Breaking Changes\n\nNone in this release{note}"
    blocks = ["## Breaking Changes"]
    for category in ("api", "database", "config"):
        members = [bc for bc in spec.breaking_changes if bc.category == category]
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
                lines.append(_bullet(f"**Rollback complexity:** {SCALE_LABEL[bc.rollback_complexity]}"))
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _render_dependencies(spec: ReleasePlanFields) -> str | None:
    groups = []
    for scope, label in (("internal", "Internal"), ("external", "External")):
        members = [d for d in spec.dependencies if d.scope == scope]
        if not members:
            continue
        lines = [f"**{label}:**"]
        for d in members:
            state = _STATUS_LABEL[d.status]
            if d.due is not None:
                state += f" by {plain_date(d.due)}" if d.status == "done" else f", due {plain_date(d.due)}"
            notes = f" - {d.notes}" if d.notes else ""
            lines.append(_bullet(f"{d.name} ({state}){notes}"))
        groups.append("\n".join(lines))
    return "## Dependencies\n\n" + "\n\n".join(groups) if groups else None


def _render_risks(spec: ReleasePlanFields) -> str:
    blocks = ["## Risks"]
    for level in ("critical", "high", "medium", "low"):
        members = [r for r in spec.risks if r.level == level]
        if not members:
            continue
        items = [
            _bullet(r.description) + "\n" + _bullet(f"**Mitigation:** {r.mitigation}", "  ") for r in members
        ]
        blocks.append(f"### {_RISK_HEADING[level]}\n" + "\n".join(items))
    return "\n\n".join(blocks)


def _render_calendar(calendar: ReleaseCalendar) -> str:
    region = calendar.region()
    lines = [f"**Public holidays:** {region if region else 'none declared'}"]
    if calendar.freeze_windows:
        lines.append("**Freeze windows:**")
        lines += [_bullet(f"{w.span()}: {w.reason}") for w in calendar.freeze_windows]
    return "## Release Calendar\n\n" + "\n".join(lines)
