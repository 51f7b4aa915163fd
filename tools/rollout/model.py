"""The rollout plan's input shape: phases, targeting, gates and flags, and the fields of the spec.

``RolloutFields`` holds every field and validator of the ``plan_rollout`` spec and the data the checks
and the Markdown both read: the calendar timeline, the day numbers and the planned phase changes.
Durations are elapsed hours, added in UTC and shown in the start's IANA zone, so a phase that crosses a
DST change ends at a different local wall-clock hour, as it really does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..base import SpecModel
from ..common import MAX_ITEMS, LongText, MetricCondition, ShortText, Text, Version
from ..stats import SpendingMethod
from .clock import BusinessHours, InputModel, StartTime, load_zone

Approach = Literal["canary", "blue_green", "rolling", "feature_flag"]
GateType = Literal["non_inferiority", "superiority", "sequential"]

_GATE_LABEL = {
    "non_inferiority": "Non-inferiority test",
    "superiority": "Superiority test",
    "sequential": "Sequential (anytime-valid) test",
}
_MAX_PHASE_HOURS = 24 * 366


class Targeting(InputModel):
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


class Gate(InputModel):
    """A statistical go/no-go test at the end of a phase (release-domain §4). With baseline_rate or
    baseline_sd and the margin or mde, the server computes the sample it needs."""

    # Rates are in percent and a rate's margin and mde in percentage points, as people write them;
    # gates.py divides them by 100 before they reach tools.stats, which takes fractions.

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
        description=(
            "Significance level (one-sided for non_inferiority), e.g. 0.05; with alpha_spending, the total "
            "over all looks at this metric"
        ),
    )
    baseline_rate: float | None = Field(
        default=None,
        gt=0,
        lt=100,
        allow_inf_nan=False,
        description="For a rate: its current value in percent, e.g. 3.1; margin and mde are then in points",
    )
    baseline_sd: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="For a mean (latency, order value): its standard deviation per unit, in its own unit",
    )
    mde: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description=(
            "Smallest change worth detecting, in the metric's unit (points for a rate); for superiority, "
            "or sequential without a margin"
        ),
    )
    power: float = Field(default=0.8, ge=0.5, lt=1, description="Power of the test, e.g. 0.8")
    higher_is_better: bool = Field(
        default=True, description="false for harm metrics such as error_rate or latency"
    )
    control_percent: float | None = Field(
        default=None,
        gt=0,
        lt=100,
        allow_inf_nan=False,
        description=(
            "Share of all traffic in the comparison arm, e.g. 5 for a same-size holdout; default: "
            "everyone not in the phase"
        ),
    )

    @model_validator(mode="after")
    def _margin_when_needed(self) -> Gate:
        if self.type == "non_inferiority" and self.margin is None:
            raise ValueError("a non_inferiority gate needs a margin (the largest harm you accept), e.g. 1.0")
        if self.baseline_rate is not None and self.baseline_sd is not None:
            raise ValueError(
                "give baseline_rate for a rate (e.g. 3.1 for 3.1%) or baseline_sd for a mean, not both"
            )
        return self

    @property
    def is_rate(self) -> bool:
        return self.baseline_rate is not None

    @property
    def is_harm_test(self) -> bool:
        """A one-sided test that the harm stays below the margin (non-inferiority, maybe sequential)."""
        return self.type == "non_inferiority" or (self.type == "sequential" and self.margin is not None)

    @property
    def effect(self) -> float | None:
        """The effect the sample is planned for: the margin of a harm test, else the mde."""
        return self.margin if self.is_harm_test else self.mde

    def amount(self, value: float) -> str:
        """A margin or mde with its unit: points for a rate, the metric's own unit otherwise."""
        return f"{value:g} pp" if self.is_rate else f"{value:g}"

    def describe(self) -> str:
        text = f"{_GATE_LABEL[self.type]} on {self.metric}"
        if self.margin is not None:
            text += f", margin {self.amount(self.margin)}"
        if self.mde is not None:
            text += f", minimum detectable effect {self.amount(self.mde)}"
        if self.baseline_rate is not None:
            text += f", baseline {self.baseline_rate:g}%"
        if self.baseline_sd is not None:
            text += f", standard deviation {self.baseline_sd:g}"
        return text + f", α = {self.alpha:g}"


class Phase(InputModel):
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


class Flag(InputModel):
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


def fmt_num(value: float) -> str:
    return f"{value:g}"


def fmt_hours(value: float) -> str:
    return f"{fmt_num(value)} hour{'' if value == 1 else 's'}"


class RolloutFields(SpecModel):
    """The rollout spec's fields and the timeline derived from them (no checks, no Markdown)."""

    version: Version
    approach: Approach = Field(description="How traffic moves (feature_flag: the percentage via flags)")
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
            "Halt and roll back if any holds, e.g. error_rate > 5 percent for 5 "
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
    daily_exposures: int | None = Field(
        default=None,
        ge=1,
        le=10**12,
        description=(
            "Units the gates count per day at 100% traffic, e.g. 200000; "
            "with each phase's share and hours it gives the gate's sample"
        ),
    )
    alpha_spending: SpendingMethod | None = Field(
        default=None,
        description=(
            "How gates on one metric share its alpha across phases (looks): "
            "obrien_fleming, pocock or bonferroni"
        ),
    )

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

    def day_number(self, when: datetime | date | None) -> int | None:
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
            label = f"phase {w.index + 1} '{w.phase.name}' ({fmt_num(w.phase.percent)}%) starts"
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

    def group_id(self, targeting: Targeting) -> str | None:
        """The hash group of a percentage rollout: its own group_id, else the first flag's name."""
        return targeting.group_id or (self.flags[0].name if self.flags else None)
