"""What the two Kubernetes engines share: names, durations, and the plan's gates and halt thresholds
as metric checks on a metrics provider.

A gate is a statistical test at the end of a phase (release-domain §4), which no provider computes by
itself; the export fixes the contract instead: the query returns the bound of the confidence interval
of the difference canary − stable that the test reads (the lower bound when higher is better, the
upper bound otherwise, one-sided at the look's alpha for a harm test and at alpha/2 for a superiority
test), in the metric's unit (points for a rate), and the condition compares it with the margin (or 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common import MetricCondition
from ..rollout import Gate, RolloutFields
from ..rollout.gates import figures
from .model import Warnings, release_slug, slug

PROMETHEUS = "http://prometheus.monitoring.svc:9090"
ANNOTATION = "release-planner.engram.dev"


def names(version: str) -> tuple[str, str]:
    """(the resource's name, the workload it points at): both to adapt."""
    return release_slug(version), "app"


def duration(minutes: int) -> str:
    """A Go duration in one unit, as both engines parse it: 24h, 90m."""
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def metric_name(metric: str) -> str:
    return slug(metric, 50)


@dataclass(frozen=True)
class GateCheck:
    """One phase's gate as a single measurement compared with a bound."""

    index: int
    phase: str
    gate: Gate
    alpha: float

    @property
    def one_sided(self) -> bool:
        return self.gate.is_harm_test

    @property
    def confidence(self) -> float:
        """The one-sided confidence level of the bound the query returns."""
        return 1 - (self.alpha if self.one_sided else self.alpha / 2)

    @property
    def limit(self) -> float:
        margin = self.gate.margin if self.one_sided and self.gate.margin is not None else 0.0
        return -margin if self.gate.higher_is_better else margin

    @property
    def bound(self) -> str:
        return "lower" if self.gate.higher_is_better else "upper"

    @property
    def comparator(self) -> str:
        return ">" if self.gate.higher_is_better else "<"

    def condition(self) -> str:
        return f"result[0] {self.comparator} {self.limit:g}"

    def contract(self) -> str:
        unit = " in percentage points" if self.gate.is_rate else " in the metric's unit"
        return (
            f"the {self.bound} bound of the one-sided {self.confidence:.4g} confidence interval of "
            f"{self.gate.metric} (canary − stable){unit}"
        )

    def template_key(self) -> tuple[str, str]:
        return (self.gate.metric, self.condition())


def gate_checks(spec: RolloutFields) -> list[GateCheck]:
    """Every gated phase's check, with the alpha the plan spends at that look."""
    return [GateCheck(f.index, f.phase.name, f.gate, f.alpha) for f in figures(spec)]


def halt_query(metric: str, *, flagger: bool) -> str:
    series = metric.replace("-", "_").replace(" ", "_")
    if flagger:
        return f'{series}{{namespace="{{{{ namespace }}}}", app="{{{{ target }}}}"}}'
    return f'{series}{{service="{{{{args.service-name}}}}"}}'


def gate_query(check: GateCheck) -> str:
    series = "release_gate_" + check.gate.metric.replace("-", "_").replace(" ", "_") + f"_{check.bound}_bound"
    return f'{series}{{service="{{{{args.service-name}}}}", confidence="{{{{args.confidence}}}}"}}'


def target_query(condition: MetricCondition, *, flagger: bool) -> str:
    """A phase's metric target as one measurement: the worst value over its sustained window (the
    highest for an upper bound, the lowest for a lower bound), so one check covers the whole window.
    Flagger substitutes the metric's ``interval`` for ``{{ interval }}``."""
    instant = halt_query(condition.metric, flagger=flagger)
    if not condition.window_minutes:
        return instant
    worst = "max_over_time" if condition.comparator in ("<", "<=") else "min_over_time"
    window = "{{ interval }}" if flagger else f"{condition.window_minutes}m"
    return f"{worst}({instant}[{window}])"


def target_key(condition: MetricCondition) -> tuple[str, str, float, int | None]:
    return (condition.metric, condition.comparator, condition.threshold, condition.window_minutes)


def failure_limit(condition: MetricCondition) -> int:
    """Failed one-minute measurements allowed before the halt: the sustained window less one."""
    return (condition.window_minutes or 1) - 1


def warn_segments_and_stickiness(spec: RolloutFields, engine: str, warn: Warnings, *, affinity: bool) -> None:
    """Weights split traffic, not users: segments and the hashed attribute do not translate."""
    segmented = [
        (i, p) for i, p in enumerate(spec.phases) if p.targeting is not None and p.targeting.segments
    ]
    if segmented:
        listed = ", ".join(
            sorted({repr(s) for _, p in segmented for s in (p.targeting.segments if p.targeting else [])})
        )
        warn.add(
            "export_segments_unsupported",
            f"phases[{segmented[0][0]}].targeting.segments",
            f"{engine} splits traffic by weight, not by who the user is: the segments {listed} (phases "
            f"{', '.join(str(i + 1) for i, _ in segmented)}) are not exported. Route them with a "
            "feature-flag export (unleash, launchdarkly, flagd) or header routing of your traffic router",
        )
    sticky = next(
        (p.targeting.stickiness for p in spec.phases if p.targeting and p.targeting.stickiness), None
    )
    if sticky is not None and sticky.lower() != "random":
        how = (
            "a session cookie keeps a browser on the canary (sessionAffinity), which is not hashing "
            f"{sticky!r}"
            if affinity
            else f"each request is routed by weight, so a user may see both versions and the {sticky!r} "
            "cohorts do not nest"
        )
        warn.add(
            "export_stickiness_unsupported",
            "phases[].targeting.stickiness",
            f"{engine} does not hash users on {sticky!r}: {how}. For user-sticky nested cohorts export "
            "to a feature-flag engine",
        )
    if spec.approach == "feature_flag":
        warn.add(
            "export_approach_mismatch",
            "approach",
            f"the plan's approach is feature_flag, but {engine} shifts traffic between two versions of a "
            "workload; export to unleash, launchdarkly or flagd for the flags",
        )
