"""Step 4 of the release-planning skill: the phased rollout plan (tool ``plan_rollout``).

The plan is typed so the server can check what the skill's free text got wrong (release-domain §7):
percentages that fall, cohorts that do not nest, a halt threshold that contradicts the rollback
triggers, statistical gates that peek or treat "no difference" as safe, and phase changes on a
weekend. It also computes the calendar timeline, which the skill wrote by hand ("March 15 (Monday)"
was a Sunday). Durations are elapsed hours, added in UTC and shown in the start's IANA zone, so a
phase that crosses a DST change ends at a different local wall-clock hour, as it really does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..base import ArtifactKind, Finding, ReleaseContext, SpecModel, error, warning
from ..common import MAX_ITEMS, LongText, MetricCondition, ShortText, Text, Version, preview

Approach = Literal["canary", "blue_green", "rolling", "feature_flag"]
GateType = Literal["non_inferiority", "superiority", "sequential"]
DayName = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_NAMES: tuple[DayName, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_APPROACH_LABEL = {
    "canary": "Canary",
    "blue_green": "Blue-green",
    "rolling": "Rolling",
    "feature_flag": "Feature flag percentage rollout",
}
_GATE_LABEL = {
    "non_inferiority": "Non-inferiority test",
    "superiority": "Superiority test",
    "sequential": "Sequential (anytime-valid) test",
}

# Repeated fixed-horizon looks at one metric are acceptable only if their alphas add up to no more
# than the conventional family-wise 5% (a Bonferroni split); otherwise each look spends the full alpha.
FAMILY_ALPHA = 0.05
# Go rules that pass a superiority test on the absence of significance ("no difference" is not "safe").
_NO_DIFFERENCE_RE = re.compile(
    r"\bno\s+(?:statistical(?:ly)?\s+)?(?:significant\s+)?(?:statistical\s+)?difference"
    r"|\bnot\s+(?:statistically\s+)?significant(?:ly)?\b",
    re.IGNORECASE,
)
# Weaker wording ("neutral A/B results") that means the same only next to a superiority test.
_NEUTRAL_RE = re.compile(r"\bneutral\b|\binconclusive\b", re.IGNORECASE)
_LOCAL_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?$")
_ZONE_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}$")
_HHMM_RE = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
_MAX_PHASE_HOURS = 24 * 366


class _Model(BaseModel):
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


class StartTime(_Model):
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


class BusinessHours(_Model):
    """When people are around to watch metrics and make go/no-go calls, in the start's zone."""

    days: list[DayName] = Field(
        default_factory=lambda: list(_DAY_NAMES[:5]),
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
        return sorted(value, key=_DAY_NAMES.index)

    @model_validator(mode="after")
    def _opens_before_closing(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError(f"business hours must open before they close (got {self.start}-{self.end})")
        return self

    def describe(self) -> str:
        days = [d.capitalize() for d in self.days]
        idx = [_DAY_NAMES.index(d) for d in self.days]
        contiguous = idx == list(range(idx[0], idx[0] + len(idx)))
        span = f"{days[0]}–{days[-1]}" if contiguous and len(days) > 2 else ", ".join(days)
        return f"{span} {self.start}–{self.end}"


class Targeting(_Model):
    """Who is in a phase: named segments and/or a sticky percentage of everyone else."""

    segments: list[ShortText] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description=(
            'Named segments always included in this phase, e.g. ["employees", "beta_tester=true"]. '
            "Keep earlier phases' segments in later phases so nobody loses the feature"
        ),
    )
    stickiness: ShortText | None = Field(
        default=None,
        description=(
            "Attribute hashed for the percentage rollout (Unleash-style), e.g. userId or sessionId; "
            "`random` means not sticky. Omit for a segment-only phase. Use the same value in every phase"
        ),
    )
    group_id: ShortText | None = Field(
        default=None,
        description=(
            "Hash group id of the percentage rollout (Unleash groupId); defaults to the first flag's name. "
            "Keep it the same in every phase so the 5% cohort stays inside the 20% cohort"
        ),
    )

    @model_validator(mode="after")
    def _says_who(self) -> Targeting:
        if not self.segments and self.stickiness is None:
            raise ValueError(
                "targeting needs segments, a stickiness attribute for a percentage rollout, or both"
            )
        if self.group_id is not None and self.stickiness is None:
            raise ValueError("group_id applies to a percentage rollout; set stickiness (e.g. userId) as well")
        return self

    @property
    def is_random(self) -> bool:
        return self.stickiness is not None and self.stickiness.lower() == "random"


class Gate(_Model):
    """A statistical go/no-go test at the end of a phase (release-domain §4)."""

    type: GateType = Field(
        description=(
            "non_inferiority: go only if the harm is shown to be below `margin` (the right safety test); "
            "superiority: go only on a significant improvement (a value test, never 'no difference = go'); "
            "sequential: an anytime-valid test that may be checked at every phase"
        )
    )
    metric: ShortText = Field(description="Metric tested, e.g. conversion_rate")
    margin: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description=(
            "Largest acceptable harm, in the metric's unit, fixed before the test, e.g. 1.0 for one "
            "percentage point of conversion. Required for non_inferiority"
        ),
    )
    alpha: float = Field(
        default=0.05,
        gt=0,
        lt=0.5,
        description="Significance level (one-sided for non_inferiority), e.g. 0.05",
    )

    @model_validator(mode="after")
    def _margin_when_needed(self) -> Gate:
        if self.type == "non_inferiority" and self.margin is None:
            raise ValueError("a non_inferiority gate needs a margin (the largest harm you accept), e.g. 1.0")
        return self

    def describe(self) -> str:
        text = f"{_GATE_LABEL[self.type]} on {self.metric}"
        if self.margin is not None:
            text += f", margin {self.margin:g}"
        return text + f", α = {self.alpha:g}"


class Phase(_Model):
    """One step of the rollout: who gets the release, for how long, and how the next step is decided."""

    name: ShortText = Field(description="Phase name, unique in the plan, e.g. Internal Dogfooding")
    audience: Text = Field(description="Who is in it, in words, e.g. Employees only (~50 users)")
    percent: float = Field(
        gt=0,
        le=100,
        allow_inf_nan=False,
        description="Share of traffic or users in this phase, 0 < p <= 100, e.g. 5",
    )
    targeting: Targeting | None = Field(
        default=None,
        description=(
            "How users are chosen (segments and/or a sticky percentage); omit for router-split canaries"
        ),
    )
    duration_hours: float | None = Field(
        default=None,
        gt=0,
        le=_MAX_PHASE_HOURS,
        allow_inf_nan=False,
        description=(
            "Elapsed hours until the go/no-go decision, e.g. 24 or 0.5; null only for a permanent last phase"
        ),
    )
    success_criteria: list[Text] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="What must be true to go on, e.g. Zero critical bugs",
    )
    metric_targets: list[MetricCondition] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description=(
            "Healthy values to monitor (the good state), e.g. error_rate < 0.5 percent over 60 minutes; "
            "a window must fit inside the phase"
        ),
    )
    min_sample: int | None = Field(
        default=None, ge=1, le=10**12, description="Users or events needed before deciding, e.g. 1500"
    )
    expected_users: int | None = Field(
        default=None,
        ge=0,
        le=10**12,
        description="Users (or events) the phase is expected to reach, e.g. 2000",
    )
    decision_owner: ShortText | None = Field(
        default=None, description="Who makes the go/no-go call, e.g. Alice Chen (Engineering Lead)"
    )
    go_rules: list[Text] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Go if ..., e.g. All metrics green"
    )
    no_go_rules: list[Text] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="No-go if ..., e.g. Any critical bug"
    )
    gate: Gate | None = Field(default=None, description="Optional statistical test deciding go/no-go")

    @field_validator("duration_hours")
    @classmethod
    def _whole_minutes(cls, value: float | None) -> float | None:
        if value is not None and abs(value * 60 - round(value * 60)) > 1e-4:
            raise ValueError("duration_hours must be a whole number of minutes, e.g. 0.25 for 15 minutes")
        return value

    @property
    def duration(self) -> timedelta | None:
        if self.duration_hours is None:
            return None
        return timedelta(minutes=round(self.duration_hours * 60))


class Flag(_Model):
    """A feature flag that switches the release's features on for the phases' audiences."""

    name: ShortText = Field(description="Flag key, e.g. enable_payment_processing")
    description: Text | None = Field(
        default=None, description="What it switches, e.g. Stripe payment processing"
    )
    dashboard: ShortText | None = Field(
        default=None, description="Where to change it, e.g. https://flags.example.com/dashboard"
    )
    access: list[ShortText] = Field(
        default_factory=list, max_length=MAX_ITEMS, description='Who may change it, e.g. ["Alice Chen"]'
    )
    emergency_disable: LongText | None = Field(
        default=None, description="Command or steps that turn it off at once, e.g. a curl call"
    )


@dataclass(frozen=True)
class PhaseWindow:
    """One phase placed on the calendar (local, zone-aware datetimes; None after an open-ended phase)."""

    index: int
    phase: Phase
    start: datetime | None
    end: datetime | None


def _fmt(dt: datetime) -> str:
    # Weekday names from a table, not strftime("%A"), which follows the process locale.
    return f"{WEEKDAYS[dt.weekday()]} {dt:%Y-%m-%d %H:%M} {dt.tzname()}"


def _fmt_date(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.isoformat()}"


def _num(value: float) -> str:
    return f"{value:g}"


def _hours(value: float) -> str:
    return f"{_num(value)} hour{'' if value == 1 else 's'}"


def _bad_region_overlaps_good(bad: MetricCondition, good: MetricCondition) -> bool:
    """True if some value satisfies both the bad-state halt condition and the good-state target."""
    # Each condition is a half-line; two half-lines pointing the same way always overlap.
    bad_up, good_up = bad.comparator in (">", ">="), good.comparator in (">", ">=")
    if bad_up == good_up:
        return True
    low, high = (bad, good) if bad_up else (good, bad)  # low: x > low.threshold, high: x < high.threshold
    if low.threshold < high.threshold:
        return True
    return low.threshold == high.threshold and low.comparator.endswith("=") and high.comparator.endswith("=")


class RolloutSpec(SpecModel):
    """A phased rollout plan: approach, start, phases with gates, flags and the halt threshold."""

    version: Version
    approach: Approach = Field(
        description="How traffic moves: canary, blue_green, rolling or feature_flag (percentage via flags)"
    )
    start: StartTime = Field(
        description='When phase 1 starts, e.g. {"at": "2026-03-16T10:00", "timezone": "America/New_York"}'
    )
    phases: list[Phase] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description="Phases in order, percentages never falling and the last at 100, e.g. 1, 5, 20, 50, 100",
    )
    flags: list[Flag] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Feature flags controlling the rollout"
    )
    halt_threshold: list[MetricCondition] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description=(
            "Halt and roll back if any of these holds (the bad state), e.g. error_rate > 5 percent for 5 "
            "minutes; keep them equal to the rollback strategy's automatic triggers"
        ),
    )
    business_hours: BusinessHours = Field(
        default_factory=BusinessHours,
        description=(
            "When phase changes should happen, in the start's zone; default Monday–Friday 09:00–17:00"
        ),
    )
    flag_removal_after_days: int = Field(
        default=7, ge=0, le=365, description="Days after the last phase change to remove the flags, e.g. 7"
    )

    # ---- protocol ---------------------------------------------------------------------------------

    def title(self, ctx: ReleaseContext) -> str:
        return f"Phased Rollout Plan: v{self.version}"

    def confidence(self, ctx: ReleaseContext) -> float | None:
        return None

    def check(self, ctx: ReleaseContext) -> list[Finding]:
        findings: list[Finding] = []
        findings += self._check_phase_shape()
        findings += self._check_cohorts()
        findings += self._check_thresholds()
        findings += self._check_windows()
        findings += self._check_samples_and_gates()
        findings += self._check_calendar()
        return findings

    def computed(self, ctx: ReleaseContext) -> dict:
        windows = self.timeline()
        first = windows[0].start
        assert first is not None
        end = self.rollout_end()
        removal = self.flag_removal_date()
        return {
            "timeline": [
                {
                    "phase": w.phase.name,
                    "percent": w.phase.percent,
                    "start": w.start.isoformat() if w.start else None,
                    "end": w.end.isoformat() if w.end else None,
                    "weekday": WEEKDAYS[w.start.weekday()] if w.start else None,
                    "day": self._day(w.start),
                    "end_weekday": WEEKDAYS[w.end.weekday()] if w.end else None,
                    "end_day": self._day(w.end),
                }
                for w in windows
            ],
            "total_days": self._day(end),
            "start": first.isoformat(),
            "end": end.isoformat() if end else None,
            "percentages": [p.percent for p in self.phases],
            "flag_removal_date": removal.isoformat() if removal else None,
            "gated_phases": sum(1 for p in self.phases if p.decision_owner or p.gate),
        }

    # ---- timeline -----------------------------------------------------------------------------------

    def timeline(self) -> list[PhaseWindow]:
        """Each phase's start and end. Elapsed hours are added in UTC, then shown in the local zone."""
        zone = load_zone(self.start.timezone)
        cursor: datetime | None = self.start.aware().astimezone(UTC)
        windows = []
        for i, phase in enumerate(self.phases):
            start = cursor
            end = start + phase.duration if start is not None and phase.duration is not None else None
            windows.append(
                PhaseWindow(
                    i, phase, start.astimezone(zone) if start else None, end.astimezone(zone) if end else None
                )
            )
            cursor = end
        return windows

    def rollout_end(self) -> datetime | None:
        """The end of the last timed phase: when the last planned phase change happens."""
        ends = [w.end for w in self.timeline() if w.end is not None]
        return ends[-1] if ends else None

    def flag_removal_date(self) -> date | None:
        end = self.rollout_end()
        if end is None or not self.flags:
            return None
        return end.date() + timedelta(days=self.flag_removal_after_days)

    def _day(self, when: datetime | date | None) -> int | None:
        """Day number in the start's zone: the start's calendar day is day 1."""
        if when is None:
            return None
        local = when.date() if isinstance(when, datetime) else when
        return (local - self.start.aware().date()).days + 1

    def phase_changes(self) -> list[tuple[datetime, str, str]]:
        """(local time, field to change, what happens) for every planned switch of traffic."""
        windows = self.timeline()
        changes = []
        for w in windows:
            if w.start is None:
                continue
            label = f"phase {w.index + 1} '{w.phase.name}' ({_num(w.phase.percent)}%) starts"
            if w.index == 0:
                changes.append((w.start, "start.at", label))
            else:
                prev = windows[w.index - 1].phase
                changes.append(
                    (w.start, f"phases[{w.index - 1}].duration_hours", f"'{prev.name}' ends and {label}")
                )
        last = windows[-1]
        if last.end is not None:
            changes.append(
                (last.end, f"phases[{last.index}].duration_hours", f"the last phase '{last.phase.name}' ends")
            )
        return changes

    def _group_id(self, targeting: Targeting) -> str | None:
        return targeting.group_id or (self.flags[0].name if self.flags else None)

    # ---- checks -------------------------------------------------------------------------------------

    def _check_phase_shape(self) -> list[Finding]:
        out = []
        seen: dict[str, int] = {}
        for i, p in enumerate(self.phases):
            key = p.name.casefold()
            if key in seen:
                msg = f"phases {seen[key] + 1} and {i + 1} are both named '{p.name}'; give each its own name"
                out.append(error("duplicate_phase_name", msg, f"phases[{i}].name"))
            seen.setdefault(key, i)
            prev = self.phases[i - 1] if i else None
            if prev is not None and p.percent < prev.percent:
                msg = (
                    f"phase {i + 1} '{p.name}' drops to {_num(p.percent)}% after {_num(prev.percent)}% in "
                    f"'{prev.name}'; percentages must never fall (a step back is a rollback, not a phase)"
                )
                out.append(error("percent_decreases", msg, f"phases[{i}].percent"))
            if p.duration_hours is None and i < len(self.phases) - 1:
                msg = (
                    f"phase {i + 1} '{p.name}' has no duration but phases follow it; give it "
                    "duration_hours (only the last phase may be permanent)"
                )
                out.append(error("open_ended_phase_not_last", msg, f"phases[{i}].duration_hours"))
        last = self.phases[-1]
        if last.percent != 100:
            msg = (
                f"the last phase '{last.name}' ends at {_num(last.percent)}%; add a final phase at 100% "
                "(or plan the rest as a later release)"
            )
            out.append(error("rollout_does_not_reach_100", msg, f"phases[{len(self.phases) - 1}].percent"))
        names: dict[str, int] = {}
        for i, f in enumerate(self.flags):
            if f.name in names:
                msg = f"flag '{f.name}' is listed twice (flags {names[f.name] + 1} and {i + 1}); list it once"
                out.append(error("duplicate_flag_name", msg, f"flags[{i}].name"))
            names.setdefault(f.name, i)
        if self.approach == "feature_flag" and not self.flags:
            msg = "the approach is feature_flag but no flags are listed; add the flags that gate the release"
            out.append(warning("feature_flag_without_flags", msg, "flags"))
        return out

    def _nesting_problems(self, a: Phase, b: Phase) -> list[str]:
        """Why users of phase ``a`` would not all stay in phase ``b`` (empty if cohorts nest)."""
        ta, tb = a.targeting, b.targeting
        # At 100% everyone is in, so nesting no longer matters; router-split phases have no cohorts.
        if ta is None or tb is None or b.percent >= 100:
            return []
        reasons = []
        dropped = [s for s in ta.segments if s not in tb.segments]
        if dropped:
            reasons.append(f"drops the segment{'s' if len(dropped) > 1 else ''} {', '.join(dropped)}")
        if ta.stickiness is not None and tb.stickiness is None:
            reasons.append(f"switches from a {ta.stickiness} percentage to segments only")
        elif ta.stickiness is not None and tb.stickiness is not None and not tb.is_random:
            if ta.is_random:
                reasons.append("follows a phase that assigned users at random, so nobody keeps a group")
            elif ta.stickiness != tb.stickiness:
                reasons.append(f"changes stickiness from {ta.stickiness} to {tb.stickiness}")
            elif self._group_id(ta) != self._group_id(tb):
                reasons.append(f"changes the group id from {self._group_id(ta)} to {self._group_id(tb)}")
        if tb.is_random:
            reasons.append("assigns users at random, so a user flips between old and new")
        return reasons

    def _check_cohorts(self) -> list[Finding]:
        out = []
        for i in range(1, len(self.phases)):
            a, b = self.phases[i - 1], self.phases[i]
            reasons = self._nesting_problems(a, b)
            if reasons:
                msg = (
                    f"users switch groups between phase {i} '{a.name}' and phase {i + 1} '{b.name}': the "
                    f"later phase {'; '.join(reasons)}. Keep one stickiness attribute (e.g. userId) and one "
                    "group id "
                    "in every phase and carry earlier segments forward as extra inclusions"
                )
                out.append(warning("cohorts_not_nested", msg, f"phases[{i}].targeting"))
        return out

    def _check_thresholds(self) -> list[Finding]:
        out = []
        for p_i, phase in enumerate(self.phases):
            for t_i, target in enumerate(phase.metric_targets):
                for halt in self.halt_threshold:
                    same = (halt.metric, halt.unit) == (target.metric, target.unit)
                    if not same or not _bad_region_overlaps_good(halt, target):
                        continue
                    msg = (
                        f"phase {p_i + 1} '{phase.name}' accepts {target.describe()} as healthy, but the "
                        "halt "
                        f"threshold {halt.describe()} rolls back at some of those values; tighten the target "
                        f"so it stays clear of {_num(halt.threshold)}"
                    )
                    field = f"phases[{p_i}].metric_targets[{t_i}]"
                    out.append(warning("metric_target_looser_than_halt", msg, field))
        return out

    def _check_windows(self) -> list[Finding]:
        out = []
        for p_i, phase in enumerate(self.phases):
            if phase.duration is None:
                continue
            minutes = phase.duration.total_seconds() / 60
            for t_i, target in enumerate(phase.metric_targets):
                if target.window_minutes is None or target.window_minutes <= minutes:
                    continue
                msg = (
                    f"{target.describe()} needs a {target.window_minutes}-minute window but phase {p_i + 1} "
                    f"'{phase.name}' lasts {_hours(phase.duration_hours or 0)}; shorten the window or "
                    "lengthen "
                    "the phase so the metric can be read before the decision"
                )
                field = f"phases[{p_i}].metric_targets[{t_i}].window_minutes"
                out.append(warning("metric_window_exceeds_phase", msg, field))
        timed = [(p.duration.total_seconds() / 60, i) for i, p in enumerate(self.phases) if p.duration]
        if not timed:
            return out
        shortest, s_i = min(timed)
        for h_i, halt in enumerate(self.halt_threshold):
            if halt.window_minutes is None or halt.window_minutes <= shortest:
                continue
            short = self.phases[s_i]
            msg = (
                f"the halt threshold {halt.describe()} needs a {halt.window_minutes}-minute window but phase "
                f"{s_i + 1} '{short.name}' lasts only {_hours(short.duration_hours or 0)}, so it could never "
                "fire there; shorten the window"
            )
            out.append(warning("metric_window_exceeds_phase", msg, f"halt_threshold[{h_i}].window_minutes"))
        return out

    def _check_samples_and_gates(self) -> list[Finding]:
        out = []
        for i, p in enumerate(self.phases):
            if p.min_sample is not None and p.expected_users is not None and p.min_sample > p.expected_users:
                msg = (
                    f"phase {i + 1} '{p.name}' needs {p.min_sample} before deciding but expects only "
                    f"{p.expected_users}; lengthen the phase, raise its percentage, or take the decision in "
                    "a "
                    "later phase that can reach the sample"
                )
                out.append(warning("sample_unreachable", msg, f"phases[{i}].min_sample"))
            if p.gate is not None and p.min_sample is None:
                msg = (
                    f"phase {i + 1} '{p.name}' gates on {p.gate.metric} but sets no min_sample, so the "
                    "test's power is unknown; add min_sample (and expected_users) from a sample-size "
                    "calculation"
                )
                out.append(warning("gate_without_min_sample", msg, f"phases[{i}].min_sample"))
            superiority = p.gate is not None and p.gate.type == "superiority"
            passes_on_nothing = any(
                _NO_DIFFERENCE_RE.search(rule) or (superiority and _NEUTRAL_RE.search(rule))
                for rule in p.go_rules
            )
            if passes_on_nothing and (p.gate is None or superiority):
                what = f"a superiority test on {p.gate.metric}" if p.gate else "a significance test"
                msg = (
                    f"phase {i + 1} '{p.name}' goes ahead when {what} finds no significant difference, but "
                    "absence of evidence is not evidence of no harm. Use a non_inferiority gate with a "
                    "margin "
                    "(go only if the harm's upper bound is below it) or a sequential test"
                )
                out.append(warning("unsafe_ab_gate", msg, f"phases[{i}].go_rules"))
        looks: dict[str, list[tuple[int, Gate]]] = {}
        for i, p in enumerate(self.phases):
            if p.gate is not None and p.gate.type != "sequential":
                looks.setdefault(p.gate.metric, []).append((i, p.gate))
        for metric, gated in sorted(looks.items()):
            if len(gated) < 2 or sum(g.alpha for _, g in gated) <= FAMILY_ALPHA + 1e-12:
                continue
            named = ", ".join(f"{i + 1} '{self.phases[i].name}'" for i, _ in gated)
            msg = (
                f"{metric} is tested at a fixed α in phases {named}; each look spends the full α, so "
                "repeated "
                "looks inflate false positives (about 14% with 5 looks at 0.05). Use a sequential gate, or "
                f"split α across the looks so they add up to at most {FAMILY_ALPHA:g}"
            )
            out.append(warning("unsafe_ab_gate", msg, f"phases[{gated[1][0]}].gate"))
        return out

    def _check_calendar(self) -> list[Finding]:
        out = []
        hours = self.business_hours
        for when, field, what in self.phase_changes():
            day_name = _DAY_NAMES[when.weekday()]
            if when.weekday() >= 5 and day_name not in hours.days:
                msg = (
                    f"{what} on {_fmt(when)}, a weekend, when few people are around to watch the metrics "
                    f"and decide; move it to a working day by changing {field}"
                )
                out.append(warning("phase_change_on_weekend", msg, field))
            elif day_name not in hours.days or not hours.start <= f"{when:%H:%M}" < hours.end:
                msg = (
                    f"{what} at {_fmt(when)}, outside business hours ({hours.describe()}); move it into "
                    f"working hours by changing {field}"
                )
                out.append(warning("phase_change_outside_business_hours", msg, field))
        return out

    # ---- rendering ----------------------------------------------------------------------------------

    def render(self, ctx: ReleaseContext) -> str:
        parts = [self._render_strategy(), self._render_phases()]
        if self.flags:
            parts.append(self._render_controls())
        parts.append(self._render_timeline(ctx))
        return "\n\n".join(parts) + "\n"

    def _render_strategy(self) -> str:
        start = self.start.aware()
        end = self.rollout_end()
        lines = ["## Rollout Strategy", "", f"**Approach:** {_APPROACH_LABEL[self.approach]}"]
        if end is not None:
            # Aware datetimes sharing a tzinfo subtract as wall-clock times; compare instants in UTC.
            hours = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600
            days = self._day(end)
            plural = "" if days == 1 else "s"
            duration = f"{days} calendar day{plural} ({_hours(hours)}): {_fmt(start)} to {_fmt(end)}"
            if self.phases[-1].duration_hours is None:
                duration += f", then {_num(self.phases[-1].percent)}% permanently"
        else:
            duration = f"from {_fmt(start)}, {_num(self.phases[-1].percent)}% permanently"
        lines.append(f"**Duration:** {duration}")
        lines.append(f"**Time zone:** {self.start.timezone}")
        lines.append(f"**Change window:** {self.business_hours.describe()}")
        if self.halt_threshold:
            lines.append(
                "**Rollback threshold:** If "
                + " or ".join(h.describe() for h in self.halt_threshold)
                + ", halt and roll back"
            )
        return "\n".join(lines)

    def _render_phases(self) -> str:
        blocks = ["## Rollout Phases"]
        for w in self.timeline():
            blocks.append(self._render_phase(w))
        return "\n\n".join(blocks)

    def _render_phase(self, w: PhaseWindow) -> str:
        p = w.phase
        n = w.index + 1
        if w.start is None:
            when = "not scheduled"
        elif w.end is None:
            when = f"Day {self._day(w.start)} onwards"
        else:
            first, last = self._day(w.start), self._day(w.end)
            when = f"Day {first}" if first == last else f"Days {first}-{last}"
        head = [f"### Phase {n}: {p.name} ({when})", ""]
        head.append(f"**Audience:** {p.audience}")
        if p.duration_hours is None:
            head.append("**Duration:** Permanent" + (f" (from {_fmt(w.start)})" if w.start else ""))
        elif w.start is not None and w.end is not None:
            head.append(f"**Duration:** {_hours(p.duration_hours)} ({_fmt(w.start)} to {_fmt(w.end)})")
        else:
            head.append(f"**Duration:** {_hours(p.duration_hours)}")
        head.append(f"**Traffic:** {_num(p.percent)}%")
        if p.targeting is not None:
            head.append(f"**Targeting:** {self._describe_targeting(p)}")
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
            sections.append(f"**Decision gate:** {p.gate.describe()}")
        if p.go_rules or p.no_go_rules or p.decision_owner:
            if w.end is not None:
                title = f"**Go/No-Go Decision ({_fmt(w.end)}, day {self._day(w.end)}):**"
            else:
                title = "**Go/No-Go Decision:**"
            rules = [title]
            rules += [f"- Go if: {r}" for r in p.go_rules]
            rules += [f"- No-go if: {r}" for r in p.no_go_rules]
            if p.decision_owner:
                rules.append(f"- Decision maker: {p.decision_owner}")
            sections.append("\n".join(rules))
        return "\n\n".join(sections)

    def _describe_targeting(self, p: Phase) -> str:
        t = p.targeting
        assert t is not None
        parts = []
        if t.stickiness is not None:
            if t.is_random:
                parts.append(f"{_num(p.percent)}% at random (not sticky)")
            else:
                group = self._group_id(t)
                parts.append(
                    f"{_num(p.percent)}% by {t.stickiness} hash" + (f" in group `{group}`" if group else "")
                )
        if t.segments:
            segs = ", ".join(f"`{s}`" for s in t.segments)
            parts.append(("plus segments " if parts else "segments ") + segs)
        return "; ".join(parts)

    def _render_controls(self) -> str:
        lines = ["## Rollout Controls", "", "**Flags:**"]
        for f in self.flags:
            lines.append(f"- `{f.name}`" + (f": {f.description}" if f.description else ""))
        blocks = ["\n".join(lines)]
        blocks += self._shared_or_per_flag("Dashboard", lambda f: f.dashboard)
        blocks += self._shared_or_per_flag("Access", lambda f: ", ".join(f.access) if f.access else None)
        for label, value in self._values_by_flag(lambda f: f.emergency_disable):
            blocks.append(f"**Emergency Disable{label}:**\n```bash\n{value}\n```")
        return "\n\n".join(blocks)

    def _values_by_flag(self, get: Callable[[Flag], str | None]) -> list[tuple[str, str]]:
        """One (label suffix, value) if every flag that sets the value shares it, else one per flag."""
        pairs = [(f.name, value) for f in self.flags if (value := get(f))]
        if not pairs:
            return []
        if len({v for _, v in pairs}) == 1:
            return [("", pairs[0][1])]
        return [(f" (`{name}`)", v) for name, v in pairs]

    def _shared_or_per_flag(self, label: str, get: Callable[[Flag], str | None]) -> list[str]:
        found = self._values_by_flag(get)
        return ["\n".join(f"**{label}{suffix}:** {v}" for suffix, v in found)] if found else []

    def _render_timeline(self, ctx: ReleaseContext) -> str:
        events: list[tuple[date, str]] = []
        windows = self.timeline()
        zone = self.start.timezone
        for w in windows:
            if w.start is None:
                continue
            enable = f"Enable Phase {w.index + 1}: {w.phase.name} ({_num(w.phase.percent)}%)"
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
        removal = self.flag_removal_date()
        if removal is not None:
            names = ", ".join(f"`{f.name}`" for f in self.flags)
            events.append(
                (
                    removal,
                    f"- Remove feature flags {names} "
                    f"({self.flag_removal_after_days} days after the last change)",
                )
            )
        lines = ["## Rollout Timeline", "", f"All times are local to {zone}."]
        current: date | None = None
        for day, text in events:
            if day != current:
                lines += ["", f"**{_fmt_date(day)} - Day {self._day(day)}:**"]
                current = day
            lines.append(text)
        lines += ["", "```mermaid", self.gantt(ctx).rstrip("\n"), "```"]
        return "\n".join(lines)

    def gantt(self, ctx: ReleaseContext) -> str:
        """A Mermaid gantt chart of the phases in local wall-clock time (deterministic)."""
        fmt = "%Y-%m-%d %H:%M"
        lines = [
            "gantt",
            f"    title {_mermaid_text(self.title(ctx), task=False)}",
            "    dateFormat YYYY-MM-DD HH:mm",
            "    axisFormat %a %d %b",
            f"    %% Times are local to {self.start.timezone}",
            "    section Rollout",
        ]
        removal = self.flag_removal_date()
        for w in self.timeline():
            if w.start is None:
                continue
            name = _mermaid_text(f"Phase {w.index + 1} {w.phase.name} ({_num(w.phase.percent)}%)")
            if w.end is not None:
                end = w.end
            elif removal is not None and removal > w.start.date():
                end = datetime.combine(removal, w.start.timetz())
            else:
                end = w.start + timedelta(days=1)
            lines.append(f"    {name} :p{w.index + 1}, {w.start:{fmt}}, {end:{fmt}}")
        if removal is not None:
            last = self.rollout_end()
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


KIND = ArtifactKind(
    name="rollout_plan",
    spec=RolloutSpec,
    entity_type="reasoning",
    title_prefix="Phased Rollout Plan:",
    tag="rollout",
    link_type="documents",
    tool="plan_rollout",
    tool_title="Plan the phased rollout",
    next_step="create_runbook",
    slot="rollout",
)
