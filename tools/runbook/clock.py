"""When the runbook's T is: a real date, time and zone, and each step's local time.

The runbook's steps are minutes around T, the deploy. T is the runbook's own ``deploy`` when it
declares one; otherwise it is dated from the rollout plan's start (minus the offset of the step that
starts the rollout, if one is marked), so the runbook and the rollout cannot disagree; otherwise only
its day is known, the release plan's target date. Minutes are added in UTC and shown in T's zone, so
a step across a DST change shows the wall-clock time it really happens at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..common import preview
from ..rollout.clock import WEEKDAYS, check_wall_time, fmt_time, load_zone

_LOCAL_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$")


class DeployTime(BaseModel):
    """T as a local wall-clock time in a named IANA zone."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    at: str = Field(
        max_length=40,
        description="Local date and time of T, YYYY-MM-DDTHH:MM without an offset, e.g. 2026-03-16T09:45",
    )
    timezone: str = Field(
        max_length=64, description="IANA time zone of `at`, e.g. America/New_York; use the rollout's"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        load_zone(value)
        return value

    @model_validator(mode="after")
    def _local_time(self) -> DeployTime:
        if not _LOCAL_RE.match(self.at):
            raise ValueError(
                f"deploy.at {preview(self.at)} is not a local date-time; use YYYY-MM-DDTHH:MM such as "
                "2026-03-16T09:45 (the zone goes in deploy.timezone)"
            )
        try:
            naive = datetime.fromisoformat(self.at)
        except ValueError:
            raise ValueError(f"deploy.at {preview(self.at)} is not a real date and time") from None
        if not 1970 <= naive.year <= 2200:
            raise ValueError("deploy.at must be between the years 1970 and 2200")
        check_wall_time(naive, load_zone(self.timezone), self.timezone, "deploy.at")
        self.at = naive.strftime("%Y-%m-%dT%H:%M")
        return self

    def aware(self) -> datetime:
        return datetime.fromisoformat(self.at).replace(tzinfo=load_zone(self.timezone))


@dataclass(frozen=True)
class TZero:
    """The runbook's T: the instant (None when only the day is known), its day, and where it comes from."""

    when: datetime | None
    day: date
    source: str  # "runbook", "rollout" or "plan"

    def at(self, minutes: int) -> datetime | None:
        """The local time ``minutes`` after T (elapsed minutes, across any DST change)."""
        if self.when is None:
            return None
        return (self.when.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(self.when.tzinfo)

    @property
    def zone(self) -> str | None:
        return None if self.when is None else str(getattr(self.when.tzinfo, "key", self.when.tzname()))


def rollout_start(ctx: Any) -> datetime | None:
    """The rollout plan's start as an aware datetime in its zone, if the stored rollout has one."""
    start = getattr(getattr(ctx, "rollout", None), "start", None)
    aware = getattr(start, "aware", None)
    if not callable(aware):
        return None
    when = aware()
    return when if isinstance(when, datetime) and when.tzinfo is not None else None


def t_zero(deploy: DeployTime | None, rollout_step_minutes: int | None, ctx: Any) -> TZero | None:
    """T from the runbook's ``deploy``, else the rollout's start, else the plan's target date."""
    if deploy is not None:
        when = deploy.aware()
        return TZero(when, when.date(), "runbook")
    start = rollout_start(ctx)
    if start is not None:
        when = (start.astimezone(UTC) - timedelta(minutes=rollout_step_minutes or 0)).astimezone(start.tzinfo)
        return TZero(when, when.date(), "rollout")
    target = getattr(getattr(ctx, "plan", None), "target_date", None)
    if isinstance(target, date):
        return TZero(None, target, "plan")
    return None


def fmt_clock(when: datetime, t: TZero) -> str:
    """A step's local time: the clock alone on T's day, with the weekday and date on another."""
    if t.when is not None and when.date() == t.when.date():
        return f"{when:%H:%M} {when.tzname()}"
    return fmt_time(when)


def fmt_day(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.isoformat()}"


__all__ = ["DeployTime", "TZero", "fmt_clock", "fmt_day", "fmt_time", "rollout_start", "t_zero"]
