"""A release's working calendar: public holidays (through the ``holidays`` package) and freeze windows.

Pure: the calendar a release plan carries (``ReleaseCalendar``), a cached holiday lookup, and what is
wrong with a day or a moment for a release step (``problems_on``): not a working day, a public
holiday, inside a declared freeze window, or (for a moment) outside working hours. ``next_working_day``
finds the first day after one that has none of these, so a finding can say where to move a step.

Days are calendar days where the step happens (a moment's own local date); a freeze given as dates
covers those whole days, inclusive; a freeze given as date-times is the interval from its start until
the moment it lifts (exclusive), and covers a day when it overlaps that day's working hours.
Holiday names are English where the package has them, so findings never follow the process locale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .common import MAX_ITEMS, ShortText, preview

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MOMENT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?$")
_COUNTRY_RE = re.compile(r"^[A-Za-z]{2,3}$")
_ZONE_HINT = "an IANA time zone such as Europe/London, America/New_York or UTC"
_COUNTRY_EXAMPLES = "US, GB, DE, FR, CA, IN or JP"
# How far ahead ``next_working_day`` looks before giving up (a freeze may last a few months).
_SEARCH_DAYS = 400


# ------------------------------------------------------------------ holidays, cached


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    # Two-letter keys only: newer releases also list alpha-3 codes; an alias such as UK is resolved
    # to its country's code (GB) through the calendar's ``country`` before it is looked up here.
    return frozenset(c for c in holidays.list_supported_countries() if len(c) == 2 and c.isupper())


@lru_cache(maxsize=512)
def _entity(country: str, subdivision: str | None = None) -> Any:
    """The package's calendar for a country (no years computed yet); NotImplementedError if unknown."""
    return holidays.country_holidays(country, subdiv=subdivision, years=())


def _language(country: str) -> str | None:
    languages = tuple(getattr(_entity(country), "supported_languages", ()) or ())
    if "en_US" in languages:
        return "en_US"
    return next((lang for lang in languages if lang.startswith("en")), None)


@lru_cache(maxsize=2048)
def holidays_in(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    """The public holidays of ``country`` (and ``subdivision``) in ``year``: day to name(s)."""
    found = holidays.country_holidays(country, subdiv=subdivision, years=year, language=_language(country))
    return {day: str(name) for day, name in found.items()}


def normalize_country(value: str) -> str:
    """The ISO 3166-1 alpha-2 code the package knows for ``value`` (an alias such as UK becomes GB)."""
    hint = f"use an ISO 3166-1 alpha-2 code the holidays package supports, such as {_COUNTRY_EXAMPLES}"
    code = value.strip().upper() if isinstance(value, str) else ""
    if _COUNTRY_RE.match(code):
        try:
            canonical = str(_entity(code).country)
        except NotImplementedError:
            canonical = ""
        if canonical in _countries():
            return canonical
    raise ValueError(f"{preview(value)} is not a country the holidays package knows; {hint}")


def normalize_subdivision(country: str, value: str) -> str:
    """The package's code for a subdivision of ``country``, given as a code or a name (England -> ENG)."""
    entity = _entity(country)
    codes: tuple[str, ...] = tuple(entity.subdivisions)
    aliases: dict[str, str] = dict(getattr(entity, "subdivisions_aliases", {}) or {})
    wanted = value.strip().casefold()
    for code in codes:
        if code.casefold() == wanted:
            return code
    for alias, code in aliases.items():
        if alias.casefold() == wanted:
            return code
    if not codes:
        raise ValueError(f"the holidays package has no subdivisions for {country}; omit subdivision")
    shown = ", ".join(codes[:25]) + (", ..." if len(codes) > 25 else "")
    raise ValueError(f"{preview(value)} is not a subdivision of {country}; use one of {shown}")


# ------------------------------------------------------------------ freeze windows


def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {preview(key)}; use {_ZONE_HINT}") from None


def _bound(text: str, zone: ZoneInfo | None, name: str) -> date | datetime:
    """A freeze bound: a date, or a zone-aware datetime (its offset, or ``timezone`` for a local time)."""
    if _DATE_RE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    elif _MOMENT_RE.match(text):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                if zone is None:
                    raise ValueError(
                        f"{name} {text!r} is a local time with no zone; add timezone ({_ZONE_HINT}) or an "
                        "offset such as +01:00"
                    )
                local, moment = moment, moment.replace(tzinfo=zone)
                if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
                    raise ValueError(f"{name} {text!r} does not exist in {zone.key} (a daylight-saving gap)")
            elif zone is not None and moment.utcoffset() != moment.replace(tzinfo=zone).utcoffset():
                raise ValueError(f"{name} {text!r} carries an offset that {zone.key} does not use then")
            return moment
    raise ValueError(
        f"{name} {preview(text)} is neither a date (YYYY-MM-DD) nor a date-time (YYYY-MM-DDTHH:MM)"
    )


@lru_cache(maxsize=1024)
def _bounds(start: str, end: str, timezone: str | None) -> tuple[date | datetime, date | datetime]:
    """A freeze's parsed bounds, cached: next_working_day asks for them once per day it tries."""
    zone = _zone(timezone) if timezone is not None else None
    return _bound(start, zone, "start"), _bound(end, zone, "end")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FreezeWindow(_Part):
    """A period in which nothing may be released or changed: whole days, or an exact interval."""

    start: str = Field(
        max_length=40,
        description="First frozen day (YYYY-MM-DD), or the moment the freeze begins (YYYY-MM-DDTHH:MM "
        "with an offset or `timezone`)",
    )
    end: str = Field(
        max_length=40,
        description="Last frozen day, inclusive, or the moment the freeze lifts; same form as start",
    )
    reason: ShortText = Field(description="Why, e.g. 'Year-end change freeze' or 'Black Friday traffic'")
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA zone of date-times given without an offset"
    )

    @model_validator(mode="after")
    def _valid_span(self) -> FreezeWindow:
        start, end = self._bounds()
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise ValueError("give start and end both as dates (whole days) or both as date-times")
        for bound in (start, end):
            if not 1970 <= bound.year <= 2999:
                raise ValueError("freeze windows must lie between the years 1970 and 2999")
        if isinstance(start, datetime) and isinstance(end, datetime):
            if end <= start:
                raise ValueError(f"the freeze must lift after it begins (start {self.start}, end {self.end})")
        elif end < start:
            raise ValueError(f"the last frozen day {self.end} is before the first {self.start}")
        return self

    def _bounds(self) -> tuple[date | datetime, date | datetime]:
        return _bounds(self.start, self.end, self.timezone)

    def days(self) -> tuple[date, date] | None:
        """First and last frozen day for a freeze given as dates, else None."""
        start, end = self._bounds()
        if isinstance(start, datetime) or isinstance(end, datetime):
            return None
        return start, end

    def moments(self) -> tuple[datetime, datetime] | None:
        """Begin and lift moments (zone-aware) for a freeze given as date-times, else None."""
        start, end = self._bounds()
        if isinstance(start, datetime) and isinstance(end, datetime):
            return start, end
        return None

    def covers_moment(self, when: datetime) -> bool:
        """True if the aware ``when`` is frozen (a day freeze by ``when``'s own local date)."""
        days = self.days()
        if days is not None:
            return days[0] <= when.date() <= days[1]
        span = self.moments()
        return span is not None and span[0] <= when < span[1]

    def covers_day(self, day: date, hours: WorkWeek) -> bool:
        """True if ``day`` is frozen: a day freeze lists it, or a timed freeze overlaps its working hours."""
        days = self.days()
        if days is not None:
            return days[0] <= day <= days[1]
        span = self.moments()
        if span is None:
            return False
        zone = hours.zone or span[0].tzinfo
        opens = datetime.combine(day, hours.opens, tzinfo=zone)
        closes = datetime.combine(day, hours.closes, tzinfo=zone)
        return span[0] < closes and opens < span[1]

    def span(self) -> str:
        """``2026-12-18 to 2027-01-04``, or ``from 2026-11-27 00:00 America/New_York until ...``."""
        days = self.days()
        if days is not None:
            return days[0].isoformat() if days[0] == days[1] else f"{days[0]} to {days[1]}"
        moments = self.moments()
        assert moments is not None
        begin, lift = (self._moment(m, self.timezone) for m in moments)
        return f"from {begin} until {lift}"

    def describe(self) -> str:
        return f"freeze {self.reason!r} ({self.span()})"

    @staticmethod
    def _moment(moment: datetime, zone: str | None) -> str:
        return f"{moment:%Y-%m-%d %H:%M} {zone or moment.tzname()}"


class ReleaseCalendar(_Part):
    """The days a release's steps must avoid: a country's public holidays and declared freezes."""

    country: str | None = Field(
        default=None,
        max_length=8,
        description="ISO 3166-1 alpha-2 code whose public holidays count, e.g. US, GB, DE",
    )
    subdivision: str | None = Field(
        default=None,
        max_length=64,
        description="State, province or nation whose holidays count too, e.g. CA, ENG, SCT, BY",
    )
    freeze_windows: list[FreezeWindow] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Periods in which nothing may be released, e.g. a year-end change freeze",
    )

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        return None if value is None else normalize_country(value)

    @model_validator(mode="after")
    def _known_subdivision(self) -> ReleaseCalendar:
        if self.subdivision is not None:
            if self.country is None:
                raise ValueError("a subdivision needs its country, e.g. country GB with subdivision SCT")
            self.subdivision = normalize_subdivision(self.country, self.subdivision)
        return self

    def region(self) -> str | None:
        if self.country is None:
            return None
        return self.country if self.subdivision is None else f"{self.country}-{self.subdivision}"

    def holiday(self, day: date) -> str | None:
        """The name of the public holiday on ``day``, or None (also when no country is set)."""
        if self.country is None:
            return None
        return holidays_in(self.country, self.subdivision, day.year).get(day)


# ------------------------------------------------------------------ what is wrong with a day


@dataclass(frozen=True)
class WorkWeek:
    """Working days (0 = Monday) and hours, and the zone days are read in (None: each value's own)."""

    days: frozenset[int] = frozenset(range(5))
    opens: time = time(9)
    closes: time = time(17)
    zone: tzinfo | None = None


STANDARD_WEEK = WorkWeek()

ProblemKind = Literal["day_off", "holiday", "freeze", "outside_hours"]


@dataclass(frozen=True)
class Problem:
    """Why a day or moment is a bad time for a release step, in words a finding can quote."""

    kind: ProblemKind
    text: str
    freeze: FreezeWindow | None = None


def problems_on(
    calendar: ReleaseCalendar | None, when: date | datetime, week: WorkWeek = STANDARD_WEEK
) -> list[Problem]:
    """Everything wrong with ``when`` for a release step: a day off, a holiday, a freeze, and for a
    (zone-aware) moment, a time outside working hours. Empty for a sound working day or time."""
    moment = when if isinstance(when, datetime) else None
    if moment is not None and week.zone is not None:
        moment = moment.astimezone(week.zone)
    day = moment.date() if moment is not None else when
    assert isinstance(day, date)
    out: list[Problem] = []
    if day.weekday() not in week.days:
        out.append(Problem("day_off", "a weekend" if day.weekday() >= 5 else "not a working day"))
    name = calendar.holiday(day) if calendar is not None else None
    if name is not None and calendar is not None:
        out.append(Problem("holiday", f"{name}, a public holiday in {calendar.region()}"))
    for freeze in calendar.freeze_windows if calendar is not None else ():
        frozen = freeze.covers_moment(moment) if moment is not None else freeze.covers_day(day, week)
        if frozen:
            out.append(Problem("freeze", f"inside the {freeze.describe()}", freeze))
    if moment is not None and day.weekday() in week.days and not week.opens <= moment.time() < week.closes:
        hours = f"{week.opens:%H:%M}-{week.closes:%H:%M}"
        out.append(Problem("outside_hours", f"outside working hours ({hours})"))
    return out


def next_working_day(
    calendar: ReleaseCalendar | None, after: date, week: WorkWeek = STANDARD_WEEK
) -> date | None:
    """The first day after ``after`` that is a working day, no holiday and not frozen (None if none
    within about a year)."""
    for n in range(1, _SEARCH_DAYS + 1):
        try:
            day = after + timedelta(days=n)
        except OverflowError:
            return None
        if not problems_on(calendar, day, week):
            return day
    return None


def describe_day(day: date) -> str:
    """``Friday 2026-04-03``: weekday names from a table, never from the process locale."""
    return f"{WEEKDAYS[day.weekday()]} {day.isoformat()}"
