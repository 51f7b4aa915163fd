"""What each gated phase's test needs, computed from the gate's inputs with ``tools.stats``.

A gate is a look at one metric. Non-sequential gates on the same metric in several phases are
repeated looks at one hypothesis (the cohorts nest, so the data accumulate): with the plan's
``alpha_spending`` each look is tested at its share of the gate's alpha (``alpha_at_look``, looks
equally spaced), otherwise every look spends the alpha its gate states.

The arms: the phase's share of traffic is the exposed arm; the comparison arm is the gate's
``control_percent``, by default everyone not yet in the phase. ``tools.stats`` sizes the control arm
with ratio = exposed share / control share, and the exposed arm needs ratio times as many, so the
exposed arm's count is what the phase's traffic must reach. The traffic is the phase's
``expected_users`` when given (its reach over the phase), else the plan's ``daily_exposures`` times
the phase's share and hours. Only the phase's own traffic is counted, which errs on the side of
asking for more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .. import stats
from .model import Gate, Phase, RolloutFields

_SPENDING_LABEL = {"obrien_fleming": "O'Brien-Fleming", "pocock": "Pocock", "bonferroni": "Bonferroni"}
_TINY = 1e-9


@dataclass(frozen=True)
class Look:
    """Where a gate stands among the looks at its metric, and the alpha it is tested at."""

    look: int
    looks: int
    spending: str | None
    alpha: float
    total: float  # the alpha all looks at the metric share

    def describe(self, metric: str) -> str:
        if self.looks == 1:
            return f"the only look at {metric}, α = {self.alpha:.4g}"
        where = f"look {self.look} of {self.looks} at {metric}"
        if self.spending is None:
            return f"{where}, each at its own α = {self.alpha:.4g} (no alpha spending)"
        label = _SPENDING_LABEL[self.spending]
        return f"{where}, {label} spending: α = {self.alpha:.4g} at this look, {self.total:.4g} in all"


@dataclass(frozen=True)
class GateFigures:
    """The sample a phase's gate needs and whether the phase's traffic reaches it."""

    index: int
    phase: Phase
    gate: Gate
    look: Look | None  # None for a sequential (anytime-valid) gate
    alpha: float  # the level this look is tested at
    sides: int
    needed_control: int | None = None
    needed_exposed: int | None = None
    exposed: int | None = None  # exposed units the phase is expected to reach
    traffic_source: str | None = None  # "expected_users" or "daily_exposures"
    hours_needed: int | None = None  # whole hours the phase needs at its share, when it falls short
    percent_needed: int | None = None  # whole percent that reaches the sample in the phase's hours
    missing: str | None = None  # why the sample could not be computed
    invalid: bool = False  # the gate's own inputs are out of range (not merely incomplete)
    no_control: bool = False  # the phase leaves no traffic for the control arm

    @property
    def reached(self) -> bool | None:
        if self.needed_exposed is None or self.exposed is None:
            return None
        return self.exposed >= self.needed_exposed

    def needs(self) -> str:
        """'needs 1,515 exposed and 6,058 in control' (or '... per arm' when the arms are equal)."""
        assert self.needed_exposed is not None and self.needed_control is not None
        floor = "at least " if self.gate.type == "sequential" else ""
        if self.needed_exposed == self.needed_control:
            return f"needs {floor}{self.needed_exposed:,} per arm"
        return f"needs {floor}{self.needed_exposed:,} exposed and {self.needed_control:,} in control"

    def summary(self, spec: RolloutFields) -> str:
        """One sentence for the Markdown and ``computed``: the need, the traffic and what to change."""
        if self.missing is not None:
            return f"sample not computed: {self.missing}"
        text = self.needs()
        if self.gate.type == "sequential":
            text += " (the fixed-horizon sample; an anytime-valid test needs more)"
        if self.exposed is None:
            return text + "; give expected_users or daily_exposures to check that the phase reaches it"
        p = self.phase
        if self.traffic_source == "expected_users":
            have = f"the phase's {self.exposed:,} expected users"
        else:
            have = (
                f"at {p.percent:g}% of {spec.daily_exposures:,}/day the phase's {p.duration_hours:g} h "
                f"give {self.exposed:,} exposed"
            )
        if self.reached:
            return f"{text}; {have}: enough"
        return f"{text}; {have}: too few, {self.remedy()}"

    def as_dict(self, spec: RolloutFields) -> dict:
        """The figures as ``computed`` shows them (JSON types only)."""
        return {
            "phase": self.phase.name,
            "metric": self.gate.metric,
            "type": self.gate.type,
            "test": "non_inferiority" if self.gate.is_harm_test else "superiority",
            "sides": self.sides,
            "look": self.look.look if self.look else None,
            "looks": self.look.looks if self.look else None,
            "alpha_spending": self.look.spending if self.look else None,
            "alpha": self.alpha,
            "power": self.gate.power,
            "needed_exposed": self.needed_exposed,
            "needed_control": self.needed_control,
            "expected_exposed": self.exposed,
            "traffic_source": self.traffic_source,
            "reached": self.reached,
            "hours_needed": self.hours_needed,
            "percent_needed": self.percent_needed,
            "summary": self.summary(spec),
        }

    def remedy(self) -> str:
        options = []
        if self.hours_needed is not None:
            options.append(f"extend it to {self.hours_needed} h")
        if self.percent_needed is not None:
            options.append(f"raise its share to {self.percent_needed}%")
        return " or ".join(options) if options else "lengthen the phase or move the gate to a larger phase"


def looks(spec: RolloutFields) -> dict[int, Look]:
    """The look of every non-sequential gate, by phase index."""
    by_metric: dict[str, list[int]] = {}
    for i, p in enumerate(spec.phases):
        if p.gate is not None and p.gate.type != "sequential":
            by_metric.setdefault(p.gate.metric, []).append(i)
    out = {}
    for indices in by_metric.values():
        total = family_alpha(spec, indices)
        for k, i in enumerate(indices, start=1):
            gate = spec.phases[i].gate
            assert gate is not None
            if spec.alpha_spending is None or len(indices) == 1:
                out[i] = Look(k, len(indices), None, gate.alpha, total)
            else:
                at = stats.alpha_at_look(spec.alpha_spending, len(indices), k, total)
                out[i] = Look(k, len(indices), spec.alpha_spending, at, total)
    return out


def family_alpha(spec: RolloutFields, indices: list[int]) -> float:
    """The alpha looks at one metric share: the smallest their gates state, so none is inflated."""
    return min(g.alpha for i in indices if (g := spec.phases[i].gate) is not None)


def figures(spec: RolloutFields) -> list[GateFigures]:
    """The figures of every gated phase, in phase order."""
    by_look = looks(spec)
    out = []
    for i, p in enumerate(spec.phases):
        if p.gate is not None:
            out.append(_figures(spec, i, p, p.gate, by_look.get(i)))
    return out


def _control_share(gate: Gate, percent: float) -> float:
    return (gate.control_percent if gate.control_percent is not None else 100 - percent) / 100


def _needed(gate: Gate, alpha: float, ratio: float) -> tuple[int, int]:
    """(control, exposed) sample for the gate at ``alpha`` and arm ratio exposed/control."""
    effect = gate.effect
    assert effect is not None
    harm_test = gate.is_harm_test
    if gate.baseline_rate is not None:
        base = gate.baseline_rate / 100
        if harm_test:
            n = stats.sample_size_non_inferiority_proportions(
                base,
                effect / 100,
                alpha=alpha,
                power=gate.power,
                higher_is_better=gate.higher_is_better,
                ratio=ratio,
            )
        else:
            signed = effect / 100 if gate.higher_is_better else -effect / 100
            n = stats.sample_size_proportions(base, signed, alpha=alpha, power=gate.power, ratio=ratio)
    else:
        assert gate.baseline_sd is not None
        if harm_test:
            n = stats.sample_size_non_inferiority_means(
                gate.baseline_sd,
                effect,
                alpha=alpha,
                power=gate.power,
                higher_is_better=gate.higher_is_better,
                ratio=ratio,
            )
        else:
            n = stats.sample_size_means(gate.baseline_sd, effect, alpha=alpha, power=gate.power, ratio=ratio)
    return n, max(1, math.ceil(n * ratio - _TINY * n))


def _missing(gate: Gate) -> str | None:
    if gate.baseline_rate is None and gate.baseline_sd is None:
        return "give the gate baseline_rate (a rate, in percent) or baseline_sd (a mean)"
    if gate.effect is None:
        return "give the gate an mde (the smallest change worth detecting) or a margin"
    return None


def _figures(spec: RolloutFields, i: int, p: Phase, gate: Gate, look: Look | None) -> GateFigures:
    alpha = look.alpha if look is not None else gate.alpha
    base = GateFigures(i, p, gate, look, alpha, 1 if gate.is_harm_test else 2)
    missing = _missing(gate)
    share, control = p.percent / 100, _control_share(gate, p.percent)
    if control <= 0 or share + control > 1 + _TINY:
        left = f"{max(0.0, 100 - p.percent):g}%"
        wanted = f"a control arm of {control * 100:g}%" if control > 0 else "any control arm"
        missing = f"the phase's {p.percent:g}% leaves {left}, too little for {wanted}"
        return replace(base, missing=missing, no_control=True)
    if missing is not None:
        return replace(base, missing=missing)
    try:
        needed_control, needed_exposed = _needed(gate, alpha, share / control)
    except ValueError as exc:
        # tools.stats names fractions; say so, since the gate's rates are in percent.
        return replace(base, missing=f"{exc} (rates as fractions)", invalid=True)
    except OverflowError:
        return replace(base, missing="the sample is too large to compute", invalid=True)
    exposed, source, daily = _traffic(spec, p)
    hours_needed = percent_needed = None
    if exposed is not None and exposed < needed_exposed and p.duration_hours is not None:
        if daily:
            # The exposed arm is the bottleneck: one arm at the phase's share (tools.stats.traffic).
            days = stats.days_to_reach(needed_exposed, daily_exposures=daily, traffic_share=share, arms=1)
            hours_needed = math.ceil(days * 24 - _TINY)
        percent_needed = _percent_needed(gate, alpha, p, exposed)
    return replace(
        base,
        needed_control=needed_control,
        needed_exposed=needed_exposed,
        exposed=exposed,
        traffic_source=source,
        hours_needed=hours_needed,
        percent_needed=percent_needed,
    )


def _traffic(spec: RolloutFields, p: Phase) -> tuple[int | None, str | None, float | None]:
    """(exposed units over the phase, where the figure comes from, daily units at 100% traffic).

    From ``expected_users`` the daily figure is the one that phase's share and hours imply.
    """
    hours = p.duration_hours
    if p.expected_users is not None:
        daily = p.expected_users * 24 / hours / (p.percent / 100) if hours else None
        return p.expected_users, "expected_users", daily
    if spec.daily_exposures is None or hours is None:
        return None, None, None
    exposed = spec.daily_exposures * p.percent / 100 * hours / 24
    return math.floor(exposed + _TINY * exposed), "daily_exposures", float(spec.daily_exposures)


def _percent_needed(gate: Gate, alpha: float, p: Phase, exposed: int) -> int | None:
    """The smallest whole percent above the phase's at which its hours reach the sample, if any.

    Traffic scales with the share; with the default control (everyone else) the ratio changes too.
    """
    top = 100 - math.ceil(gate.control_percent) if gate.control_percent is not None else 99
    for percent in range(math.floor(p.percent) + 1, top + 1):
        control = _control_share(gate, percent)
        try:
            _, need = _needed(gate, alpha, (percent / 100) / control)
        except (ValueError, OverflowError):
            return None
        if exposed * percent / p.percent >= need:
            return percent
    return None
