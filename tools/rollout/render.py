"""The rollout plan as Markdown: strategy, phases, controls, the dated timeline and its gantt chart.

Plain functions of the spec's fields. Times are shown in the start's zone with weekday names from a
table (``clock.fmt_time``), so the output is the same byte for byte on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ..base import ReleaseContext
from ..markdown import escape_html
from .clock import fmt_date, fmt_time
from .gates import figures as gate_figures
from .model import Flag, Gate, Phase, PhaseWindow, RolloutFields, fmt_hours, fmt_num

_APPROACH_LABEL = {
    "canary": "Canary",
    "blue_green": "Blue-green",
    "rolling": "Rolling",
    "feature_flag": "Feature flag percentage rollout",
}


def plan_title(spec: RolloutFields, ctx: ReleaseContext) -> str:
    return f"Phased Rollout Plan: v{spec.version}"


def render(spec: RolloutFields, ctx: ReleaseContext) -> str:
    parts = [_render_strategy(spec), _render_phases(spec)]
    if spec.flags:
        parts.append(_render_controls(spec))
    parts.append(_render_timeline(spec, ctx))
    return escape_html("\n\n".join(parts) + "\n")


def _render_strategy(spec: RolloutFields) -> str:
    start = spec.start.aware()
    end = spec.rollout_end()
    lines = ["## Rollout Strategy", "", f"**Approach:** {_APPROACH_LABEL[spec.approach]}"]
    if end is not None:
        # Aware datetimes sharing a tzinfo subtract as wall-clock times; compare instants in UTC.
        hours = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600
        days = spec.day_number(end)
        plural = "" if days == 1 else "s"
        duration = f"{days} calendar day{plural} ({fmt_hours(hours)}): {fmt_time(start)} to {fmt_time(end)}"
        if spec.phases[-1].duration_hours is None:
            duration += f", then {fmt_num(spec.phases[-1].percent)}% permanently"
    else:
        duration = f"from {fmt_time(start)}, {fmt_num(spec.phases[-1].percent)}% permanently"
    lines.append(f"**Duration:** {duration}")
    lines.append(f"**Time zone:** {spec.start.timezone}")
    lines.append(f"**Change window:** {spec.business_hours.describe()}")
    if spec.halt_threshold:
        lines.append(
            "**Rollback threshold:** If "
            + " or ".join(h.describe() for h in spec.halt_threshold)
            + ", halt and roll back"
        )
    return "\n".join(lines)


def _render_phases(spec: RolloutFields) -> str:
    blocks = ["## Rollout Phases"]
    for w in spec.timeline():
        blocks.append(_render_phase(spec, w))
    return "\n\n".join(blocks)


def _render_phase(spec: RolloutFields, w: PhaseWindow) -> str:
    p = w.phase
    n = w.index + 1
    if w.start is None:
        when = "not scheduled"
    elif w.end is None:
        when = f"Day {spec.day_number(w.start)} onwards"
    else:
        first, last = spec.day_number(w.start), spec.day_number(w.end)
        when = f"Day {first}" if first == last else f"Days {first}-{last}"
    head = [f"### Phase {n}: {p.name} ({when})", ""]
    head.append(f"**Audience:** {p.audience}")
    if p.duration_hours is None:
        head.append("**Duration:** Permanent" + (f" (from {fmt_time(w.start)})" if w.start else ""))
    elif w.start is not None and w.end is not None:
        head.append(f"**Duration:** {fmt_hours(p.duration_hours)} ({fmt_time(w.start)} to {fmt_time(w.end)})")
    else:
        head.append(f"**Duration:** {fmt_hours(p.duration_hours)}")
    head.append(f"**Traffic:** {fmt_num(p.percent)}%")
    if p.targeting is not None:
        head.append(f"**Targeting:** {_describe_targeting(spec, p)}")
    if p.expected_users is not None:
        head.append(f"**Expected users:** ~{p.expected_users}")
    if p.min_sample is not None:
        head.append(f"**Minimum sample before deciding:** {p.min_sample}")
    sections = ["\n".join(head)]
    if p.success_criteria:
        sections.append("\n".join(["**Success Criteria:**", *(f"- {c}" for c in p.success_criteria)]))
    if p.metric_targets:
        sections.append(
            "\n".join(["**Metrics to Monitor:**", *(f"- {m.describe()}" for m in p.metric_targets)])
        )
    if p.gate is not None:
        sections.append(_render_gate(spec, w.index, p.gate))
    if p.go_rules or p.no_go_rules or p.decision_owner:
        if w.end is not None:
            title = f"**Go/No-Go Decision ({fmt_time(w.end)}, day {spec.day_number(w.end)}):**"
        else:
            title = "**Go/No-Go Decision:**"
        rules = [title]
        rules += [f"- Go if: {r}" for r in p.go_rules]
        rules += [f"- No-go if: {r}" for r in p.no_go_rules]
        if p.decision_owner:
            rules.append(f"- Decision maker: {p.decision_owner}")
        sections.append("\n".join(rules))
    return "\n\n".join(sections)


def _render_gate(spec: RolloutFields, index: int, gate: Gate) -> str:
    """The gate, the sample its test needs against the phase's traffic, and its look's alpha."""
    lines = [f"**Decision gate:** {gate.describe()}"]
    fig = next((f for f in gate_figures(spec) if f.index == index), None)
    if fig is not None:
        lines.append(f"**Gate sample:** {fig.summary(spec)}")
        if fig.look is not None and fig.look.looks > 1:
            lines.append(f"**Gate look:** {fig.look.describe(gate.metric)}")
    return "\n".join(lines)


def _describe_targeting(spec: RolloutFields, p: Phase) -> str:
    t = p.targeting
    assert t is not None
    parts = []
    if t.stickiness is not None:
        if t.is_random:
            parts.append(f"{fmt_num(p.percent)}% at random (not sticky)")
        else:
            group = spec.group_id(t)
            parts.append(
                f"{fmt_num(p.percent)}% by {t.stickiness} hash" + (f" in group `{group}`" if group else "")
            )
    if t.segments:
        segs = ", ".join(f"`{s}`" for s in t.segments)
        parts.append(("plus segments " if parts else "segments ") + segs)
    return "; ".join(parts)


def _render_controls(spec: RolloutFields) -> str:
    lines = ["## Rollout Controls", "", "**Flags:**"]
    for f in spec.flags:
        lines.append(f"- `{f.name}`" + (f": {f.description}" if f.description else ""))
    blocks = ["\n".join(lines)]
    blocks += _shared_or_per_flag(spec, "Dashboard", lambda f: f.dashboard)
    blocks += _shared_or_per_flag(spec, "Access", lambda f: ", ".join(f.access) if f.access else None)
    for label, value in _values_by_flag(spec, lambda f: f.emergency_disable):
        blocks.append(f"**Emergency Disable{label}:**\n```bash\n{value}\n```")
    return "\n\n".join(blocks)


def _values_by_flag(spec: RolloutFields, get: Callable[[Flag], str | None]) -> list[tuple[str, str]]:
    """One (label suffix, value) if every flag that sets the value shares it, else one per flag."""
    pairs = [(f.name, value) for f in spec.flags if (value := get(f))]
    if not pairs:
        return []
    if len({v for _, v in pairs}) == 1:
        return [("", pairs[0][1])]
    return [(f" (`{name}`)", v) for name, v in pairs]


def _shared_or_per_flag(spec: RolloutFields, label: str, get: Callable[[Flag], str | None]) -> list[str]:
    found = _values_by_flag(spec, get)
    return ["\n".join(f"**{label}{suffix}:** {v}" for suffix, v in found)] if found else []


def _render_timeline(spec: RolloutFields, ctx: ReleaseContext) -> str:
    events: list[tuple[date, str]] = []
    windows = spec.timeline()
    zone = spec.start.timezone
    for w in windows:
        if w.start is None:
            continue
        enable = f"Enable Phase {w.index + 1}: {w.phase.name} ({fmt_num(w.phase.percent)}%)"
        if w.index == 0:
            events.append((w.start.date(), f"- {w.start:%H:%M} {w.start.tzname()}: {enable}"))
        else:
            prev = windows[w.index - 1].phase
            owner = f" by {prev.decision_owner}" if prev.decision_owner else ""
            events.append(
                (
                    w.start.date(),
                    f"- {w.start:%H:%M} {w.start.tzname()}: Phase {w.index} go/no-go decision{owner}; "
                    f"if go, {enable[0].lower()}{enable[1:]}",
                )
            )
    last = windows[-1]
    if last.end is not None:
        owner = f" by {last.phase.decision_owner}" if last.phase.decision_owner else ""
        events.append(
            (
                last.end.date(),
                f"- {last.end:%H:%M} {last.end.tzname()}: Phase {last.index + 1} go/no-go "
                f"decision{owner}; "
                "rollout complete",
            )
        )
    removal = spec.flag_removal_date()
    if removal is not None:
        names = ", ".join(f"`{f.name}`" for f in spec.flags)
        events.append(
            (
                removal,
                f"- Remove feature flags {names} ({spec.flag_removal_after_days} days after the last change)",
            )
        )
    lines = ["## Rollout Timeline", "", f"All times are local to {zone}."]
    current: date | None = None
    for day, text in events:
        if day != current:
            lines += ["", f"**{fmt_date(day)} - Day {spec.day_number(day)}:**"]
            current = day
        lines.append(text)
    lines += ["", "```mermaid", gantt(spec, ctx).rstrip("\n"), "```"]
    return "\n".join(lines)


def gantt(spec: RolloutFields, ctx: ReleaseContext) -> str:
    """A Mermaid gantt chart of the phases in local wall-clock time (deterministic)."""
    fmt = "%Y-%m-%d %H:%M"
    lines = [
        "gantt",
        f"    title {_mermaid_text(plan_title(spec, ctx), task=False)}",
        "    dateFormat YYYY-MM-DD HH:mm",
        "    axisFormat %a %d %b",
        f"    %% Times are local to {spec.start.timezone}",
        "    section Rollout",
    ]
    removal = spec.flag_removal_date()
    for w in spec.timeline():
        if w.start is None:
            continue
        name = _mermaid_text(f"Phase {w.index + 1} {w.phase.name} ({fmt_num(w.phase.percent)}%)")
        if w.end is not None:
            end = w.end
        elif removal is not None and removal > w.start.date():
            end = datetime.combine(removal, w.start.timetz())
        else:
            end = w.start + timedelta(days=1)
        lines.append(f"    {name} :p{w.index + 1}, {w.start:{fmt}}, {end:{fmt}}")
    if removal is not None:
        last = spec.rollout_end()
        at = (
            datetime.combine(removal, last.timetz())
            if last
            else datetime.combine(removal, datetime.min.time())
        )
        lines.append(f"    Remove feature flags :milestone, flags, {at:{fmt}}, 0h")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str, *, task: bool = True) -> str:
    # ':' ends a Mermaid task name; '#' and ';' start entities and statements; '%%' opens a comment.
    cleaned = text.replace(";", ",").replace("#", "").replace("%%", "%")
    if task:
        cleaned = cleaned.replace(":", " -")
    return " ".join(cleaned.split())
