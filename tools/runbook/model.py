"""The runbook's input: the minute clock around the deploy, checklist, timed steps, smoke tests, contacts.

``RunbookFields`` holds every field of ``create_runbook``. The T-offset helpers (parse, store, display)
live here because the fields validate with them and both the checks and the Markdown print them. It
imports neither ``checks`` nor ``render``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from ..base import SpecModel
from ..common import MAX_ITEMS, LongText, ShortText, Text, Version, preview
from .clock import DeployTime, TZero, t_zero

MAX_OFFSET_MINUTES = 60 * 24 * 30
_UNIT_MINUTES = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60,
                 "d": 1440, "day": 1440, "days": 1440}  # fmt: skip
_OFFSET_RE = re.compile(r"^T\s*(?:(?P<sign>[+-])\s*(?P<n>\d{1,5})\s*(?P<unit>[a-z]+)?)?$", re.IGNORECASE)

# Read by the cross-artifact review (tools/review.py): a checklist item that asks for a rollback rehearsal.
REHEARSAL = re.compile(r"rehears", re.IGNORECASE)


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
    starts_rollout: bool = Field(
        default=False,
        description="True on the one step that starts the rollout's first phase (e.g. enabling the flags)",
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


class RunbookFields(SpecModel):
    """All fields of a runbook; the spec in ``__init__`` adds the protocol methods."""

    version: Version
    deploy: DeployTime | None = Field(
        default=None,
        description=(
            "When T is, as local time and zone; omit to date T from the rollout's start (less the offset "
            "of the step that starts the rollout)"
        ),
    )
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

    @model_validator(mode="after")
    def _one_rollout_start(self) -> RunbookFields:
        marked = [s.name for s in self.steps if s.starts_rollout]
        if len(marked) > 1:
            raise ValueError(
                f"only one step can start the rollout; steps {', '.join(map(repr, marked))} all set "
                "starts_rollout"
            )
        return self

    def rollout_step(self) -> tuple[int, DeploymentStep] | None:
        """The step that starts the rollout's first phase, with its index, if one is marked."""
        return next(((i, s) for i, s in enumerate(self.steps) if s.starts_rollout), None)

    def t_zero(self, ctx: Any) -> TZero | None:
        """T as a real time (``clock``): ``deploy``, else the rollout's start less the offset of the
        step that starts the rollout, else only the day, the release plan's target date."""
        marked = self.rollout_step()
        return t_zero(self.deploy, marked[1].minutes if marked else None, ctx)
