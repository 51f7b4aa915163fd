"""What the two Kubernetes engines share: names, durations, and the plan's gates and halt thresholds
as metric checks on a metrics provider.

A gate is a statistical test at the end of a phase (release-domain §4), which no provider computes by
itself; the export fixes the contract instead: the query returns the bound of the confidence interval
of the difference canary − stable that the test reads (the lower bound when higher is better, the
upper bound otherwise, one-sided at the look's alpha for a harm test and at alpha/2 for a superiority
test), in the metric's unit (points for a rate), and the condition compares it with the margin (or 0).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from ..common import MetricCondition
from ..rollout import Gate, RolloutFields
from ..rollout.gates import figures
from .model import Warnings, release_slug, slug

PROMETHEUS = "http://prometheus.monitoring.svc:9090"
ANNOTATION = "release-planner.engram.dev"


MAX_NAME = 63  # a DNS-1123 label: valid as any Kubernetes object's name, and as a label value


class Names:
    """Names unique in one scope (the resources of one export, the metrics one analysis merges):
    different metrics can slug alike (error.rate, error_rate), and one metric can have several
    conditions, so a repeated name gets -2, -3."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, *parts: str) -> str:
        n = 1
        while (name := _fit(parts, "" if n == 1 else f"-{n}")) in self.taken:
            n += 1
        self.taken.add(name)
        return name


def _fit(parts: tuple[str, ...], suffix: str) -> str:
    """``parts`` (e.g. the rollout, "gate", the metric) and ``suffix`` as one DNS-1123 label. When
    too long, the first part is shortened and a hash of the whole added, so the name still says what
    it is for and two long names stay apart."""
    full = slug("-".join(parts), 10_000) + suffix
    if len(full) <= MAX_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    tail = (slug("-".join(parts[1:]), 10_000) if len(parts) > 1 else "") + suffix
    room = MAX_NAME - len(tail) - len(digest) - 2
    if len(parts) < 2 or room < 8:
        return f"{full[: MAX_NAME - len(digest) - 1].rstrip('-')}-{digest}"
    return f"{slug(parts[0], room).rstrip('-')}-{digest}-{tail}"


def names(version: str) -> tuple[str, str]:
    """(the resource's name, the workload it points at): both to adapt."""
    return _fit((release_slug(version),), ""), "app"


def number(value: float) -> str:
    """A threshold as Argo's expressions and PromQL read it: exact and never in exponent notation
    (``:g`` wrote 2500001.5 as 2.5e+06, a different threshold)."""
    text = format(Decimal(repr(value + 0.0)), "f")
    return text[:-2] if text.endswith(".0") else text


def duration(minutes: int) -> str:
    """A Go duration in one unit, as both engines parse it: 24h, 90m."""
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def metric_name(metric: str) -> str:
    """The metric as a name part: its slug, or a hash when nothing of it is a letter or digit in
    ASCII (two metrics named in another script must not both become 'x')."""
    if not re.search(r"[a-z0-9]", metric.lower()):
        return "metric-" + hashlib.sha256(metric.encode()).hexdigest()[:8]
    return slug(metric, 50)


def series(metric: str) -> str:
    """A Prometheus metric name for the placeholder queries: [a-zA-Z_:][a-zA-Z0-9_:]*."""
    name = metric_name(metric).replace("-", "_")
    return name if not name[0].isdigit() else f"m_{name}"


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
    def confidence_text(self) -> str:
        """The confidence as the query's argument: to 10 digits, since a look's alpha under spending
        can be 0.0001 or less (4 digits wrote 0.99991 as 0.9999, and 0.999999 as 1)."""
        return f"{self.confidence:.10g}"

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
        return f"result[0] {self.comparator} {number(self.limit)}"

    def contract(self) -> str:
        unit = " in percentage points" if self.gate.is_rate else " in the metric's unit"
        return (
            f"the {self.bound} bound of the one-sided {self.confidence_text} confidence interval of "
            f"{self.gate.metric} (canary − stable){unit}"
        )

    def template_key(self) -> tuple[str, str]:
        return (self.gate.metric, self.condition())


def gate_checks(spec: RolloutFields) -> list[GateCheck]:
    """Every gated phase's check, with the alpha the plan spends at that look."""
    return [GateCheck(f.index, f.phase.name, f.gate, f.alpha) for f in figures(spec)]


def halt_query(metric: str, *, flagger: bool) -> str:
    name = series(metric)
    if flagger:
        return f'{name}{{namespace="{{{{ namespace }}}}", app="{{{{ target }}}}"}}'
    return f'{name}{{service="{{{{args.service-name}}}}"}}'


def gate_query(check: GateCheck) -> str:
    name = f"release_gate_{metric_name(check.gate.metric).replace('-', '_')}_{check.bound}_bound"
    return f'{name}{{service="{{{{args.service-name}}}}", confidence="{{{{args.confidence}}}}"}}'


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
