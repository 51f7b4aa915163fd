"""The migration path as Markdown: change summary, dated timeline, customer steps, rollback, exit criteria."""

from __future__ import annotations

from ..base import ReleaseContext
from ..common import MetricCondition, format_t_offset, offset_date
from ..markdown import escape_html
from ..release_plan import plain_date
from .model import MigrationPathFields, Snippet

_TYPE_LABEL = {"api": "API change", "database": "Database schema change", "config": "Configuration change"}


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


def render(spec: MigrationPathFields, ctx: ReleaseContext) -> str:
    parts = [_render_summary(spec, ctx), _render_timeline(spec, ctx)]
    if spec.customer_steps:
        parts.append(_render_steps(spec))
    if spec.support_resources:
        parts.append(
            "## Support Resources\n\n"
            + "\n".join(f"**{r.label}:** {r.detail}" for r in spec.support_resources)
        )
    compat = []
    if spec.backward_compatibility.preserved:
        compat.append(
            "**What's preserved:**\n" + "\n".join(map(_bullet, spec.backward_compatibility.preserved))
        )
    if spec.backward_compatibility.not_compatible:
        compat.append(
            "**What's not compatible:**\n"
            + "\n".join(map(_bullet, spec.backward_compatibility.not_compatible))
        )
    if compat:
        parts.append("## Backward Compatibility\n\n" + "\n\n".join(compat))
    if spec.rollback_plan is not None:
        parts.append(_render_rollback(spec, ctx))
    if spec.exit_criteria:
        parts.append(_render_exit_criteria(spec))
    parts.append(f"**Confidence:** {spec.stated_confidence:.2f}")
    return escape_html("\n\n".join(parts) + "\n")


def _render_summary(spec: MigrationPathFields, ctx: ReleaseContext) -> str:
    planned = spec.planned_change(ctx)
    what = f"{spec.change}: {planned.change}" if planned else spec.change
    lines = ["## Change Summary", "", f"**What's changing:** {what}", f"**Why:** {spec.rationale}"]
    if spec.affects:
        lines.append(f"**Affects:** {', '.join(spec.affects)}")
    change_type = spec.effective_change_type(ctx)
    if change_type is not None:
        lines.append(f"**Type:** {_TYPE_LABEL[change_type]}")
    return "\n".join(lines)


def _render_timeline(spec: MigrationPathFields, ctx: ReleaseContext) -> str:
    target = ctx.plan.target_date if ctx.plan is not None else None
    blocks = ["## Migration Timeline"]
    if target is None:
        blocks.append(
            f"Dates are shown as days from the release day T: no release plan with a target date is "
            f"stored for v{spec.version} yet."
        )
    else:
        blocks.append(f"T is the release day, {plain_date(target)}.")
    for n, p in enumerate(spec.phases, 1):
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


def _render_steps(spec: MigrationPathFields) -> str:
    blocks = ["## Migration Steps for Customers"]
    for n, step in enumerate(spec.customer_steps, 1):
        body = [f"### Step {n}: {step.title}"]
        if step.code is not None:
            body.append(_snippet(step.code, None))
        if step.before is not None:
            body.append(_snippet(step.before, "Before"))
        if step.after is not None:
            body.append(_snippet(step.after, "After"))
        body.append(step.instructions)
        blocks.append("\n\n".join(body))
    return "\n\n".join(blocks)


def _snippet(snippet: Snippet, default_label: str | None) -> str:
    label = snippet.label or default_label
    return f"**{label}:**\n{_fence(snippet)}" if label else _fence(snippet)


def _render_rollback(spec: MigrationPathFields, ctx: ReleaseContext) -> str:
    assert spec.rollback_plan is not None
    text = "## Rollback Plan\n\n**If migration fails:**\n" + "\n".join(
        map(_bullet, spec.rollback_plan.actions)
    )
    days = spec.rollback_plan.window_days
    if days is not None:
        text += f"\n\n**Rollback window:** {days} day{'' if days == 1 else 's'} after release"
        if ctx.plan is not None:
            text += f" (until {plain_date(offset_date(ctx.plan.target_date, days))})"
    return text


def _render_exit_criteria(spec: MigrationPathFields) -> str:
    terminal = spec.terminal_phase()
    if terminal is None:
        lead = "All of these must hold before the old path is removed:"
    else:
        i, phase = terminal
        when = _offset_label(phase.start_days())
        lead = f"Before Phase {i + 1} ({phase.name}, {when}), all of these must hold:"
    items = [_bullet(_describe(c) if isinstance(c, MetricCondition) else c) for c in spec.exit_criteria]
    return "## Exit Criteria\n\n" + lead + "\n" + "\n".join(items)
