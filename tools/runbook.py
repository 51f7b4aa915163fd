"""Step 5 of the skill: the release runbook (tool ``create_runbook``).

Deployment steps are placed on a minute clock around the deploy (``T-30min``, ``T``, ``T+10min``) and
checked for order. The rollout schedule is never typed here: it is read from the stored rollout plan,
so the runbook cannot disagree with it about which day a phase starts.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from .base import ArtifactKind, Finding, ReleaseContext, SpecModel, error, warning
from .common import MAX_ITEMS, LongText, ShortText, Text, Version, preview
from .markdown import bullets, fenced, inline_code, numbered

MAX_OFFSET_MINUTES = 60 * 24 * 30
_UNIT_MINUTES = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60,
                 "d": 1440, "day": 1440, "days": 1440}  # fmt: skip
_OFFSET_RE = re.compile(r"^T\s*(?:(?P<sign>[+-])\s*(?P<n>\d{1,5})\s*(?P<unit>[a-z]+)?)?$", re.IGNORECASE)
_ON_CALL = re.compile(r"on[\s-]?call", re.IGNORECASE)
REHEARSAL = re.compile(r"rehears", re.IGNORECASE)
_DOWN_MIGRATION = re.compile(r"\balembic\s+downgrade\b", re.IGNORECASE)


def parse_minute_offset(value: object) -> int:
    """``T-30min`` -> -30, ``T`` / ``T+0`` -> 0, ``T+2h`` -> 120, ``T-1d`` -> -1440; ints are minutes."""
    if isinstance(value, bool):
        raise ValueError("a step time must be a T-offset such as T-30min, T or T+10min")
    if isinstance(value, int):
        minutes = value
    else:
        m = _OFFSET_RE.match(str(value).strip())
        if not m:
            raise ValueError(
                f"{preview(value)} is not a T-offset; "
                "use T-30min, T, T+10min or T+2h (relative to the deploy)"
            )
        n = int(m["n"] or 0)
        unit = (m["unit"] or "").lower()
        if unit and unit not in _UNIT_MINUTES:
            raise ValueError(f"{preview(value)}: unknown unit {preview(unit)}; use min, h or d, e.g. T-30min")
        if not unit and n:
            # In step 2 of the skill a bare T-30 means days; here it would be ambiguous, so ask.
            raise ValueError(f"{preview(value)} has no unit; write T-{n}min (or T-{n}h)")
        minutes = n * _UNIT_MINUTES.get(unit, 1)
        if m["sign"] == "-":
            minutes = -minutes
    if abs(minutes) > MAX_OFFSET_MINUTES:
        raise ValueError(f"{preview(value)} is more than 30 days from the deploy")
    return minutes


def format_minute_offset(minutes: int) -> str:
    """The stored spelling: ``T-30min``, ``T``, ``T+10min``."""
    if minutes == 0:
        return "T"
    return f"T{'+' if minutes > 0 else '-'}{abs(minutes)}min"


def display_offset(minutes: int) -> str:
    """The skill's heading spelling: ``T-30 min``, ``T+0``, ``T+2 h``."""
    if minutes == 0:
        return "T+0"
    sign = "+" if minutes > 0 else "-"
    size = abs(minutes)
    return f"T{sign}{size // 60} h" if size % 60 == 0 else f"T{sign}{size} min"


MinuteOffset = Annotated[
    str,
    BeforeValidator(lambda v: format_minute_offset(parse_minute_offset(v))),
    StringConstraints(max_length=16),
    Field(description="When, relative to the deploy at T: T-30min, T-15min, T, T+10min, T+2h"),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChecklistSection(_Model):
    """One group of the pre-release checklist."""

    name: ShortText = Field(description="Section name, e.g. 'Code Readiness', 'Team Readiness'")
    items: list[Text] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="Things to confirm before the release, e.g. 'All tests passing (unit, integration, e2e)'",
    )


class DeploymentStep(_Model):
    """One timed step of the deployment."""

    name: ShortText = Field(description="Step name, unique in the runbook, e.g. 'Application Deployment'")
    at: MinuteOffset
    owner: ShortText | None = Field(
        default=None, description="Who runs it, e.g. 'Bob Wilson (release engineer)'"
    )
    actions: list[Text] = Field(
        min_length=1, max_length=MAX_ITEMS, description="What to do, in order, e.g. 'Verify pods healthy'"
    )
    commands: list[LongText] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description=(
            "Shell commands for this step, in order, e.g. 'kubectl rollout status deployment/api-server'"
        ),
    )

    @property
    def minutes(self) -> int:
        return parse_minute_offset(self.at)


class SmokeTest(_Model):
    """A check run right after the deploy: a command, a manual check, or both."""

    name: ShortText = Field(description="What is tested, e.g. 'API health check'")
    command: LongText | None = Field(
        default=None, description="Command to run, e.g. 'curl -fsS https://api.example.com/health'"
    )
    check: Text | None = Field(
        default=None,
        description="Manual check when there is no command, e.g. 'Log in with an internal account'",
    )
    expected: Text = Field(description="What passing looks like, e.g. 'HTTP 200 and status ok'")

    @model_validator(mode="after")
    def _has_a_way_to_run(self) -> SmokeTest:
        if self.command is None and self.check is None:
            raise ValueError("give a command to run or a manual check (or both)")
        return self


class Contact(_Model):
    """Someone to reach during the release."""

    role: ShortText = Field(
        description="Role, e.g. 'Release Engineer', 'On-Call Primary', 'Engineering Lead'"
    )
    name: ShortText = Field(description="Person's name, e.g. 'Bob Wilson'")
    phone: ShortText | None = Field(default=None, description="Phone number, e.g. '+1-555-0123'")
    slack: ShortText | None = Field(default=None, description="Slack handle, e.g. '@bob'")
    email: ShortText | None = Field(default=None, description="Email, e.g. 'bob@example.com'")


class TroubleshootingEntry(_Model):
    """A known failure during the deploy and how to get out of it."""

    issue: ShortText = Field(description="The symptom, e.g. 'Deployment stuck / pods not starting'")
    check: Text | None = Field(
        default=None, description="What to look at first, e.g. 'kubectl describe pod <pod>'"
    )
    causes: list[ShortText] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Common causes, e.g. 'Image pull error'"
    )
    resolution: list[Text] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="What to do, in order, e.g. 'Fix and re-deploy, or roll back'",
    )


class PostReleaseActivity(_Model):
    """Follow-up work after the deploy."""

    when: ShortText = Field(description="When, as text or a day offset, e.g. 'Day 2', 'Week 2', 'T+30 days'")
    what: ShortText = Field(description="The activity, e.g. 'Release Retrospective'")
    tasks: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="What it involves, e.g. 'Update runbook with lessons'",
    )


class RunbookSpec(SpecModel):
    """The release runbook: checklist, timed deployment steps, smoke tests, contacts, troubleshooting."""

    version: Version
    checklist: list[ChecklistSection] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Pre-release checklist by section (code, infrastructure, documentation, team readiness)",
    )
    steps: list[DeploymentStep] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="Deployment steps in time order, each at a T-offset in minutes",
    )
    smoke_tests: list[SmokeTest] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Checks to run right after the deploy"
    )
    contacts: list[Contact] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Emergency contacts, including the on-call engineer",
    )
    troubleshooting: list[TroubleshootingEntry] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Known deploy problems with checks and resolutions",
    )
    post_release: list[PostReleaseActivity] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Follow-up activities (phase reviews, retrospective)",
    )

    # --- protocol -------------------------------------------------------------------------------

    def title(self, ctx: ReleaseContext) -> str:
        return f"Release Runbook: v{self.version}"

    def confidence(self, ctx: ReleaseContext) -> float | None:
        return None

    def computed(self, ctx: ReleaseContext) -> dict[str, Any]:
        return {
            "steps": len(self.steps),
            "checklist_items": sum(len(s.items) for s in self.checklist),
            "smoke_tests": len(self.smoke_tests),
            "schedule_from_rollout": ctx.rollout is not None,
        }

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        findings: list[Finding] = []
        findings += self._check_steps()
        if not self.smoke_tests:
            findings.append(
                warning(
                    "no_smoke_tests",
                    "the runbook has no smoke tests; add checks to run right after the deploy (e.g. the "
                    "health endpoint returns 200, login works)",
                    "smoke_tests",
                )
            )
        if not any(_ON_CALL.search(c.role) for c in self.contacts):
            findings.append(
                warning(
                    "no_on_call_contact",
                    "no contact has an on-call role; add one such as role 'On-Call Primary' with a phone "
                    "number",
                    "contacts",
                )
            )
        findings += self._check_down_migrations()
        return findings

    def render(self, ctx: ReleaseContext) -> str:
        parts = [f"# {self.title(ctx)}"]
        if self.checklist:
            parts.append("## Pre-Release Checklist")
            for section in self.checklist:
                parts.append(
                    f"### {section.name}\n" + "\n".join("- [ ] " + _hang(i, 2) for i in section.items)
                )
        parts.append("## Deployment Steps")
        for n, step in enumerate(self.steps, 1):
            parts.append(f"### Step {n}: {step.name} ({display_offset(step.minutes)})")
            if step.owner:
                parts.append(f"**Owner:** {step.owner}")
            parts.append(numbered(step.actions))
            if step.commands:
                parts.append("**Commands:**\n" + fenced("\n".join(step.commands), "bash"))
        if self.smoke_tests:
            parts.append("## Smoke Tests")
            parts.append("\n".join("- [ ] " + _hang(_smoke_text(t), 2) for t in self.smoke_tests))
        parts.append("## Rollout Schedule")
        parts.append(_schedule(ctx))
        if self.contacts:
            parts.append("## Emergency Contacts")
            parts.append(bullets(_contact_text(c) for c in self.contacts))
        if self.troubleshooting:
            parts.append("## Troubleshooting")
            for entry in self.troubleshooting:
                parts.append(f"### Issue: {entry.issue}")
                facts = []
                if entry.check:
                    facts.append(f"**Check:** {entry.check}")
                if entry.causes:
                    facts.append("**Common causes:** " + ", ".join(entry.causes))
                if facts:
                    parts.append(bullets(facts))
                parts.append("**Resolution:**\n" + numbered(entry.resolution))
        if self.post_release:
            parts.append("## Post-Release Activities")
            for act in self.post_release:
                block = f"### {act.when}: {act.what}"
                if act.tasks:
                    block += "\n" + bullets(act.tasks)
                parts.append(block)
        return "\n\n".join(parts) + "\n"

    # --- checks ---------------------------------------------------------------------------------

    def _check_steps(self) -> list[Finding]:
        findings: list[Finding] = []
        seen: dict[str, int] = {}
        latest: DeploymentStep | None = None
        for i, step in enumerate(self.steps):
            key = step.name.casefold()
            if key in seen:
                findings.append(
                    error(
                        "duplicate_step_name",
                        f"step {i + 1} repeats the name {step.name!r} of step {seen[key] + 1}; give each "
                        "step its own name or merge them",
                        f"steps[{i}].name",
                    )
                )
            else:
                seen[key] = i
            if latest is not None and step.minutes < latest.minutes:
                findings.append(
                    warning(
                        "steps_out_of_order",
                        f"step {i + 1} {step.name!r} at {display_offset(step.minutes)} comes after "
                        f"{latest.name!r} at {display_offset(latest.minutes)}; list steps in time order or "
                        "fix the time",
                        f"steps[{i}].at",
                    )
                )
            if latest is None or step.minutes >= latest.minutes:
                latest = step
        return findings

    def _check_down_migrations(self) -> list[Finding]:
        places: list[tuple[str, str]] = []
        for i, step in enumerate(self.steps):
            places += [(f"steps[{i}].actions[{j}]", t) for j, t in enumerate(step.actions)]
            places += [(f"steps[{i}].commands[{j}]", t) for j, t in enumerate(step.commands)]
        for i, entry in enumerate(self.troubleshooting):
            places += [(f"troubleshooting[{i}].resolution[{j}]", t) for j, t in enumerate(entry.resolution)]
        return [
            warning(
                "down_migration_in_runbook",
                "the runbook runs `alembic downgrade`, which loses data written since the release; point "
                "this at the rollback strategy's procedure instead (design_rollback) and plan schema "
                "changes as expand/contract so a rollback is a redeploy of the previous version",
                path,
            )
            for path, text in places
            if _DOWN_MIGRATION.search(text)
        ]


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
    return "From the phased rollout plan:\n\n" + bullets(lines)


KIND = ArtifactKind(
    name="runbook",
    spec=RunbookSpec,
    entity_type="context",
    title_prefix="Release Runbook:",
    tag="runbook",
    link_type="references",
    tool="create_runbook",
    tool_title="Create the release runbook",
    next_step="link_release_entities, then summarize_release",
    slot="runbook",
    reads=frozenset({"rollout_plan"}),
)
