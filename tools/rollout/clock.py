"""Wall-clock input of the rollout plan: IANA zones, the start time and business hours.

A local time names one instant only in a named zone and only outside the hour a DST change skips or
repeats, so the start is refused otherwise. Weekdays are formatted from a table, never from the
process locale, so the Markdown and the findings read the same on every machine.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..common import preview

DayName = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_NAMES: tuple[DayName, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_LOCAL_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?$")
_ZONE_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}$")
_HHMM_RE = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")


class InputModel(BaseModel):
    """Base of the rollout's input sub-models: unknown keys are refused and strings stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def load_zone(key: str) -> ZoneInfo:
    """The IANA zone ``key`` (e.g. ``America/New_York``); ValueError naming what is valid."""
    hint = "use an IANA time zone name such as America/New_York, Europe/Berlin or UTC"
    if not isinstance(key, str) or len(key) > 64 or not _ZONE_KEY_RE.match(key):
        raise ValueError(f"{preview(key)} is not an IANA time zone name; {hint}")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {key!r}; {hint}") from None


class StartTime(InputModel):
    """When the first phase starts: a local wall-clock time in a named IANA zone."""

    at: str = Field(
        description=(
            "Local wall-clock date and time the first phase starts, YYYY-MM-DDTHH:MM, without an offset "
            "(the zone comes from `timezone`), e.g. 2026-03-16T10:00"
        ),
        max_length=40,
    )
    timezone: str = Field(
        description="IANA time zone of `at` and of business hours, e.g. America/New_York, Europe/Berlin, UTC",
        max_length=64,
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_bare_timestamp(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "start needs a named time zone, not a bare timestamp; give an object such as "
                '{"at": "2026-03-16T10:00", "timezone": "America/New_York"}'
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        load_zone(value)
        return value

    @model_validator(mode="after")
    def _normalize_at(self) -> StartTime:
        zone = load_zone(self.timezone)
        text = self.at
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is None or not _LOCAL_AT_RE.match(text):
            raise ValueError(
                f"start.at {preview(text)} is not a local date-time; "
                "use YYYY-MM-DDTHH:MM such as 2026-03-16T10:00"
            )
        if parsed.microsecond:
            raise ValueError("start.at must be whole seconds, e.g. 2026-03-16T10:00")
        naive = parsed.replace(tzinfo=None)
        # An explicit offset is accepted only when it is what the named zone says at that time.
        if parsed.tzinfo is not None and parsed.utcoffset() != naive.replace(tzinfo=zone).utcoffset():
            raise ValueError(
                f"start.at {text!r} carries an offset that {self.timezone} does not use at that time; "
                "drop the offset and give the local time, e.g. 2026-03-16T10:00"
            )
        if not 1970 <= naive.year <= 2200:
            raise ValueError("start.at must be between the years 1970 and 2200")
        check_wall_time(naive, zone, self.timezone, "start.at")
        fmt = "%Y-%m-%dT%H:%M:%S" if naive.second else "%Y-%m-%dT%H:%M"
        self.at = naive.strftime(fmt)
        return self

    def aware(self) -> datetime:
        """The start as a zone-aware datetime in its own zone."""
        return datetime.fromisoformat(self.at).replace(tzinfo=load_zone(self.timezone))


def check_wall_time(naive: datetime, zone: ZoneInfo, zone_name: str, field: str) -> None:
    """Refuse local times a DST change skips or repeats: they do not name one instant."""
    early = naive.replace(tzinfo=zone, fold=0)
    late = naive.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return
    round_trip = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        raise ValueError(
            f"{field} {naive:%Y-%m-%dT%H:%M} does not exist in {zone_name} (the clocks skip it for daylight "
            "saving time); pick a time an hour later"
        )
    raise ValueError(
        f"{field} {naive:%Y-%m-%dT%H:%M} happens twice in {zone_name} (the clocks go back); pick a time "
        "outside that hour"
    )


class BusinessHours(InputModel):
    """When people are around to watch metrics and make go/no-go calls, in the start's zone."""

    days: list[DayName] = Field(
        default_factory=lambda: list(DAY_NAMES[:5]),
        min_length=1,
        max_length=7,
        description='Working days, lowercase English names, e.g. ["monday", ..., "friday"]',
    )
    start: str = Field(default="09:00", max_length=5, description="Local opening time HH:MM, e.g. 09:00")
    end: str = Field(
        default="17:00", max_length=5, description="Local closing time HH:MM (exclusive), e.g. 17:00"
    )

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM_RE.match(value):
            raise ValueError(f"{preview(value)} is not a 24-hour time HH:MM such as 09:00 or 17:30")
        return value

    @field_validator("days")
    @classmethod
    def _unique_in_week_order(cls, value: list[DayName]) -> list[DayName]:
        if len(set(value)) != len(value):
            raise ValueError("each day may appear once")
        return sorted(value, key=DAY_NAMES.index)

    @model_validator(mode="after")
    def _opens_before_closing(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError(f"business hours must open before they close (got {self.start}-{self.end})")
        return self

    def describe(self) -> str:
        days = [d.capitalize() for d in self.days]
        idx = [DAY_NAMES.index(d) for d in self.days]
        contiguous = idx == list(range(idx[0], idx[0] + len(idx)))
        span = f"{days[0]}–{days[-1]}" if contiguous and len(days) > 2 else ", ".join(days)
        return f"{span} {self.start}–{self.end}"


def fmt_time(dt: datetime) -> str:
    # Weekday names from a table, not strftime("%A"), which follows the process locale.
    return f"{WEEKDAYS[dt.weekday()]} {dt:%Y-%m-%d %H:%M} {dt.tzname()}"


def fmt_date(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.isoformat()}"
