"""The runbook as Markdown, with the rollout schedule read from the stored rollout plan."""

from __future__ import annotations

import datetime as dt

from ..base import ReleaseContext
from ..markdown import bullets, escape_html, fenced, inline_code, numbered
from .clock import TZero, fmt_clock, fmt_day, fmt_time
from .model import Contact, RunbookFields, SmokeTest, display_offset


def _t_line(spec: RunbookFields, t: TZero | None) -> str:
    if t is None:
        return (
            "**T (deploy):** not dated yet; plan_rollout dates it from the rollout's start, or set `deploy`"
        )
    if t.when is None:
        return (
            f"**T (deploy):** {fmt_day(t.day)}, the release plan's target date; the time comes from the "
            "rollout's start (plan_rollout) or `deploy`"
        )
    head = f"**T (deploy):** {fmt_time(t.when)} ({t.zone})"
    if t.source == "runbook":
        return head
    marked = spec.rollout_step()
    if marked is None:
        return f"{head}, the rollout plan's start"
    i, step = marked
    start = t.at(step.minutes)
    assert start is not None
    return (
        f"{head}, so that step {i + 1} '{step.name}' at {display_offset(step.minutes)} starts the rollout at "
        f"its planned {fmt_clock(start, t)}"
    )


def title(spec: RunbookFields) -> str:
    return f"Release Runbook: v{spec.version}"


def render(spec: RunbookFields, ctx: ReleaseContext) -> str:
    parts = [f"# {title(spec)}"]
    if spec.checklist:
        parts.append("## Pre-Release Checklist")
        for section in spec.checklist:
            parts.append(f"### {section.name}\n" + "\n".join("- [ ] " + _hang(i, 2) for i in section.items))
    parts.append("## Deployment Steps")
    t = spec.t_zero(ctx)
    parts.append(_t_line(spec, t))
    for n, step in enumerate(spec.steps, 1):
        when = t.at(step.minutes) if t is not None else None
        clock = f", {fmt_clock(when, t)}" if when is not None and t is not None else ""
        parts.append(f"### Step {n}: {step.name} ({display_offset(step.minutes)}{clock})")
        if step.owner:
            parts.append(f"**Owner:** {step.owner}")
        parts.append(numbered(step.actions))
        if step.commands:
            parts.append("**Commands:**\n" + fenced("\n".join(step.commands), "bash"))
    if spec.smoke_tests:
        parts.append("## Smoke Tests")
        parts.append("\n".join("- [ ] " + _hang(_smoke_text(t), 2) for t in spec.smoke_tests))
    parts.append("## Rollout Schedule")
    parts.append(_schedule(ctx))
    if spec.contacts:
        parts.append("## Emergency Contacts")
        parts.append(bullets(_contact_text(c) for c in spec.contacts))
    if spec.troubleshooting:
        parts.append("## Troubleshooting")
        for entry in spec.troubleshooting:
            parts.append(f"### Issue: {entry.issue}")
            facts = []
            if entry.check:
                facts.append(f"**Check:** {entry.check}")
            if entry.causes:
                facts.append("**Common causes:** " + ", ".join(entry.causes))
            if facts:
                parts.append(bullets(facts))
            parts.append("**Resolution:**\n" + numbered(entry.resolution))
    if spec.post_release:
        parts.append("## Post-Release Activities")
        for act in spec.post_release:
            block = f"### {act.when}: {act.what}"
            if act.tasks:
                block += "\n" + bullets(act.tasks)
            parts.append(block)
    return escape_html("\n\n".join(parts) + "\n")


def _hang(text: str, width: int) -> str:
    first, *rest = text.split("\n")
    return "\n".join([first, *[(" " * width + line) if line else "" for line in rest]])


def _smoke_text(test: SmokeTest) -> str:
    parts = [f"**{test.name}**"]
    if test.command is not None:
        parts.append(
            "run\n" + fenced(test.command, "bash")
            if "\n" in test.command
            else f"run {inline_code(test.command)}"
        )
    if test.check is not None:
        parts.append(f"check: {test.check}")
    parts.append(f"expect: {test.expected}")
    return " - ".join(parts)


def _contact_text(contact: Contact) -> str:
    ways = [w for w in (contact.phone, contact.slack, contact.email) if w]
    return f"**{contact.role}:** " + " - ".join([contact.name, *ways])


def _moment(value: object) -> str:
    if not isinstance(value, str):
        return str(value)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    text = f"{when:%Y-%m-%d %H:%M}"
    offset = when.utcoffset()
    if offset is not None:
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        text += " UTC" if not minutes else f" UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return text


def _schedule(ctx: ReleaseContext) -> str:
    if ctx.rollout is None:
        return "Rollout schedule: not planned yet — call plan_rollout"
    timeline = ctx.rollout.computed(ctx).get("timeline") or []
    if not timeline:
        return "Rollout schedule: the rollout plan has no phases yet — call plan_rollout"
    lines = []
    for item in timeline:
        phase = item.get("phase")
        label = f"Phase {phase}" if isinstance(phase, int) else str(phase)
        day = item.get("day")
        head = f"Day {day}" if day is not None else "Day ?"
        when = ", ".join(str(x) for x in (item.get("weekday"), _moment(item.get("start"))) if x)
        line = f"**{head} ({when}):** {label}"
        percent = item.get("percent")
        if isinstance(percent, (int, float)):
            line += f" at {percent:g}%"
        if item.get("end"):
            line += f", until {_moment(item['end'])}"
        lines.append(line)
    zone = getattr(getattr(ctx.rollout, "start", None), "timezone", None)
    where = f" (times in {zone})" if isinstance(zone, str) else ""
    return f"From the phased rollout plan{where}:\n\n" + bullets(lines)
