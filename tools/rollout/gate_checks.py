"""The rollout's own findings about samples and statistical gates (release-domain §4).

Computed, not declared: each gate's sample comes from ``gates.figures`` (``tools.stats``), so a phase
whose traffic cannot reach it, or a ``min_sample`` below it, is named with the figures and the fix.
Repeated looks at one metric must share their alpha (``alpha_spending``, a Bonferroni split, or a
sequential test), and a go-criterion may not pass on "no significant difference" in any wording
(``gate_wording``): that is sound only as a non-inferiority or equivalence test with a margin.
"""

from __future__ import annotations

from .. import stats
from ..base import Finding, warning
from .gate_wording import every_phase, passes_on_no_difference, significance_look
from .gates import GateFigures, figures, looks
from .model import Phase, RolloutFields

# Repeated fixed-horizon looks at one metric are acceptable only if their alphas add up to no more
# than the conventional family-wise 5% (a Bonferroni split); otherwise each look spends the full alpha.
FAMILY_ALPHA = 0.05
_FIX_NO_DIFFERENCE = (
    "absence of evidence is not evidence of no harm. Go only on a non-inferiority test: a gate of type "
    "non_inferiority with a margin, or a rule such as 'the upper bound of the one-sided 95% CI of the "
    "drop is below 0.5 pp', or a sequential gate with a margin (an equivalence test with margins also serves)"
)


def check_gates(spec: RolloutFields) -> list[Finding]:
    """Every sample and gate finding, phase by phase, then those about looks across phases."""
    out: list[Finding] = []
    by_phase = {f.index: f for f in figures(spec)}
    for i, p in enumerate(spec.phases):
        out += _sample_findings(spec, i, p, by_phase.get(i))
        out += _wording_findings(i, p)
    out += _repeated_gate_looks(spec)
    out += _repeated_text_looks(spec)
    return out


def _name(i: int, p: Phase) -> str:
    return f"phase {i + 1} '{p.name}'"


def _sample_findings(spec: RolloutFields, i: int, p: Phase, fig: GateFigures | None) -> list[Finding]:
    out = []
    if p.min_sample is not None and p.expected_users is not None and p.min_sample > p.expected_users:
        msg = (
            f"{_name(i, p)} needs {p.min_sample} before deciding but expects only {p.expected_users}; "
            "lengthen the phase, raise its percentage, or take the decision in a later phase that can "
            "reach the sample"
        )
        out.append(warning("sample_unreachable", msg, f"phases[{i}].min_sample"))
    if fig is None or p.gate is None:
        return out
    gate = p.gate
    if fig.no_control:
        msg = (
            f"{_name(i, p)} gates on {gate.metric}, but {fig.missing}, so there is nothing to compare "
            "with; decide with the gate in an earlier phase, or keep a holdout (lower the percent and set "
            "control_percent)"
        )
        out.append(warning("gate_without_control_arm", msg, f"phases[{i}].gate"))
    elif fig.invalid:
        msg = (
            f"{_name(i, p)}: the {gate.metric} gate's inputs give no sample size: {fig.missing}; correct "
            "the baseline, margin or mde (baseline_rate in percent, a rate's margin and mde in points)"
        )
        out.append(warning("gate_inputs_invalid", msg, f"phases[{i}].gate"))
    elif fig.needed_exposed is None and p.min_sample is None:
        msg = (
            f"{_name(i, p)} gates on {gate.metric} but the test's sample is unknown: {fig.missing}, so "
            "the server computes it (or set min_sample from a sample-size calculation)"
        )
        out.append(warning("gate_without_min_sample", msg, f"phases[{i}].min_sample"))
    if fig.needed_exposed is None:
        return out
    if p.min_sample is not None and p.min_sample < fig.needed_exposed:
        msg = (
            f"{_name(i, p)} declares min_sample {p.min_sample:,} but its {gate.metric} gate "
            f"{fig.needs()} ({_test_words(fig)}); raise min_sample to at least {fig.needed_exposed:,}"
        )
        out.append(warning("min_sample_below_computed", msg, f"phases[{i}].min_sample"))
    if fig.reached is False:
        msg = f"the {gate.metric} gate of {_name(i, p)} ({_test_words(fig)}) {fig.summary(spec)}"
        out.append(warning("gate_sample_unreachable", msg, f"phases[{i}].duration_hours"))
    return out


def _test_words(fig: GateFigures) -> str:
    gate = fig.gate
    effect = gate.effect
    assert effect is not None
    what = f"margin {gate.amount(effect)}" if gate.is_harm_test else f"mde {gate.amount(effect)}"
    rate = gate.baseline_rate
    base = f"baseline {rate:g}%" if rate is not None else f"sd {gate.baseline_sd:g}"
    sided = "one-sided" if fig.sides == 1 else "two-sided"
    return f"{what}, {base}, {sided} α = {fig.alpha:.4g}, power {gate.power:.0%}"


def _wording_findings(i: int, p: Phase) -> list[Finding]:
    gate = p.gate
    if gate is not None and (gate.type == "non_inferiority" or gate.margin is not None):
        return []  # the phase's own gate tests the harm against a margin
    compared = gate is not None
    out = []
    for field, rules in (("go_rules", p.go_rules), ("success_criteria", p.success_criteria)):
        flawed = [r for r in rules if passes_on_no_difference(r, compared=compared)]
        if not flawed:
            continue
        what = f"a {gate.type} test on {gate.metric}" if gate else "a test"
        msg = (
            f"{_name(i, p)} goes ahead when {what} finds no significant difference ('{flawed[0]}'), but "
            + _FIX_NO_DIFFERENCE
        )
        out.append(warning("unsafe_ab_gate", msg, f"phases[{i}].{field}"))
    return out


def _spending_hint(looks_count: int, alpha: float) -> str:
    per_look = [
        stats.alpha_at_look("obrien_fleming", looks_count, k, alpha) for k in range(1, looks_count + 1)
    ]
    shown = ", ".join(f"{a:.4g}" for a in per_look)
    return (
        f"set alpha_spending to obrien_fleming (α {shown} at the {looks_count} looks) or bonferroni "
        f"({alpha / looks_count:.4g} each), or use a sequential gate"
    )


def _repeated_gate_looks(spec: RolloutFields) -> list[Finding]:
    if spec.alpha_spending is not None:
        return []
    by_metric: dict[str, list[int]] = {}
    for i, look in sorted(looks(spec).items()):
        gate = spec.phases[i].gate
        assert gate is not None
        if look.looks > 1:
            by_metric.setdefault(gate.metric, []).append(i)
    out = []
    for metric, indices in sorted(by_metric.items()):
        alphas = [g.alpha for i in indices if (g := spec.phases[i].gate) is not None]
        if sum(alphas) <= FAMILY_ALPHA + 1e-12:
            continue
        named = ", ".join(f"{i + 1} '{spec.phases[i].name}'" for i in indices)
        msg = (
            f"{metric} is tested at a fixed α in phases {named}; each look spends its full α, so repeated "
            f"looks inflate false positives (about 14% with 5 looks at 0.05): "
            + _spending_hint(len(indices), min(alphas))
        )
        out.append(warning("unsafe_ab_gate", msg, f"phases[{indices[1]}].gate"))
    return out


def _repeated_text_looks(spec: RolloutFields) -> list[Finding]:
    """Significance tests written into the go criteria of several phases, or 'at every phase'."""
    if spec.alpha_spending is not None:
        return []
    found: list[tuple[int, str, float, bool]] = []  # (phase, field, alpha, says every phase)
    for i, p in enumerate(spec.phases):
        if p.gate is not None:
            continue  # a sequential gate is anytime-valid; any other gate is the look, counted above
        for field, rules in (("go_rules", p.go_rules), ("success_criteria", p.success_criteria)):
            levels = [(a, every_phase(r)) for r in rules if (a := significance_look(r)) is not None]
            if levels:
                found.append((i, field, max(a for a, _ in levels), any(e for _, e in levels)))
                break
    timed = sum(1 for p in spec.phases if p.duration_hours is not None)
    everywhere = next((f for f in found if f[3]), None)
    if everywhere is not None and timed >= 2:
        i, field, alpha, _ = everywhere
        msg = (
            f"{_name(i, spec.phases[i])} tests significance at α = {alpha:g} at every phase: {timed} looks "
            f"at the full α inflate false positives. Put the test in each phase's gate and "
            + _spending_hint(timed, alpha)
        )
        return [warning("unsafe_ab_gate", msg, f"phases[{i}].{field}")]
    if len(found) < 2 or sum(f[2] for f in found) <= FAMILY_ALPHA + 1e-12:
        return []
    i, field, alpha, _ = found[1]
    named = ", ".join(f"{j + 1} '{spec.phases[j].name}'" for j, *_ in found)
    msg = (
        f"the go criteria of phases {named} each test significance at a fixed α, so the looks add up "
        "and inflate false positives. Put the tests in the phases' gates and "
        + _spending_hint(len(found), alpha)
    )
    return [warning("unsafe_ab_gate", msg, f"phases[{i}].{field}")]
