"""The rollout plan's own checks (release-domain §7), as plain functions of its fields.

They find what free text gets wrong: percentages that fall, cohorts that do not nest, metric targets
that the halt threshold contradicts, metric windows longer than a phase, statistical gates that peek or
treat "no difference" as safe, phase changes on a weekend or outside business hours, a rollout with no
halt threshold, phases that expose nobody new, and go/no-go calls with no owner or no metric (an error
on the call that takes the rollout to 100%). Findings come out in a fixed order, the order of the
functions ``check`` calls.
"""

from __future__ import annotations

from .. import names
from ..base import Finding, error, warning
from ..common import MetricCondition, in_base_unit
from .clock import DAY_NAMES, fmt_time
from .gate_checks import check_gates
from .model import Phase, RolloutFields, fmt_hours, fmt_num


def check(spec: RolloutFields) -> list[Finding]:
    """Every finding about the plan on its own, in a stable order."""
    findings: list[Finding] = []
    findings += _check_phase_shape(spec)
    findings += _check_cohorts(spec)
    findings += _check_thresholds(spec)
    findings += _check_windows(spec)
    findings += _check_samples_and_gates(spec)
    findings += _check_calendar(spec)
    findings += _check_safety_net(spec)
    findings += _check_exposure(spec)
    findings += _check_decisions(spec)
    return findings


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


def _check_phase_shape(spec: RolloutFields) -> list[Finding]:
    out = []
    seen: dict[str, int] = {}
    for i, p in enumerate(spec.phases):
        key = p.name.casefold()
        if key in seen:
            msg = f"phases {seen[key] + 1} and {i + 1} are both named '{p.name}'; give each its own name"
            out.append(error("duplicate_phase_name", msg, f"phases[{i}].name"))
        seen.setdefault(key, i)
        prev = spec.phases[i - 1] if i else None
        if prev is not None and p.percent < prev.percent:
            msg = (
                f"phase {i + 1} '{p.name}' drops to {fmt_num(p.percent)}% after {fmt_num(prev.percent)}% in "
                f"'{prev.name}'; percentages must never fall (a step back is a rollback, not a phase)"
            )
            out.append(error("percent_decreases", msg, f"phases[{i}].percent"))
        if p.duration_hours is None and i < len(spec.phases) - 1:
            msg = (
                f"phase {i + 1} '{p.name}' has no duration but phases follow it; give it "
                "duration_hours (only the last phase may be permanent)"
            )
            out.append(error("open_ended_phase_not_last", msg, f"phases[{i}].duration_hours"))
    last = spec.phases[-1]
    if last.percent != 100:
        msg = (
            f"the last phase '{last.name}' ends at {fmt_num(last.percent)}%; add a final phase at 100% "
            "(or plan the rest as a later release)"
        )
        out.append(error("rollout_does_not_reach_100", msg, f"phases[{len(spec.phases) - 1}].percent"))
    names: dict[str, int] = {}
    for i, f in enumerate(spec.flags):
        if f.name in names:
            msg = f"flag '{f.name}' is listed twice (flags {names[f.name] + 1} and {i + 1}); list it once"
            out.append(error("duplicate_flag_name", msg, f"flags[{i}].name"))
        names.setdefault(f.name, i)
    if spec.approach == "feature_flag" and not spec.flags:
        msg = "the approach is feature_flag but no flags are listed; add the flags that gate the release"
        out.append(warning("feature_flag_without_flags", msg, "flags"))
    return out


def _nesting_problems(spec: RolloutFields, a: Phase, b: Phase) -> list[str]:
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
        elif spec.group_id(ta) != spec.group_id(tb):
            reasons.append(f"changes the group id from {spec.group_id(ta)} to {spec.group_id(tb)}")
    if tb.is_random:
        reasons.append("assigns users at random, so a user flips between old and new")
    return reasons


def _check_cohorts(spec: RolloutFields) -> list[Finding]:
    out = []
    for i in range(1, len(spec.phases)):
        a, b = spec.phases[i - 1], spec.phases[i]
        reasons = _nesting_problems(spec, a, b)
        if reasons:
            msg = (
                f"users switch groups between phase {i} '{a.name}' and phase {i + 1} '{b.name}': the "
                f"later phase {'; '.join(reasons)}. Keep one stickiness attribute (e.g. userId) and one "
                "group id "
                "in every phase and carry earlier segments forward as extra inclusions"
            )
            out.append(warning("cohorts_not_nested", msg, f"phases[{i}].targeting"))
    return out


def _check_thresholds(spec: RolloutFields) -> list[Finding]:
    out = []
    for p_i, phase in enumerate(spec.phases):
        for t_i, target in enumerate(phase.metric_targets):
            for halt in spec.halt_threshold:
                # One metric however spelled, its thresholds compared in one unit (5 percent = 0.05).
                (h_dim, h_at), (t_dim, t_at) = (
                    in_base_unit(halt.threshold, halt.unit),
                    in_base_unit(target.threshold, target.unit),
                )
                same = names.metric_key(halt.metric) == names.metric_key(target.metric) and h_dim == t_dim
                converted = (
                    halt.model_copy(update={"threshold": h_at}),
                    target.model_copy(update={"threshold": t_at}),
                )
                if not same or not _bad_region_overlaps_good(*converted):
                    continue
                msg = (
                    f"phase {p_i + 1} '{phase.name}' accepts {target.describe()} as healthy, but the "
                    "halt "
                    f"threshold {halt.describe()} rolls back at some of those values; tighten the target "
                    f"so it stays clear of {fmt_num(halt.threshold)}"
                )
                field = f"phases[{p_i}].metric_targets[{t_i}]"
                out.append(warning("metric_target_looser_than_halt", msg, field))
    return out


def _check_windows(spec: RolloutFields) -> list[Finding]:
    out = []
    for p_i, phase in enumerate(spec.phases):
        if phase.duration is None:
            continue
        minutes = phase.duration.total_seconds() / 60
        for t_i, target in enumerate(phase.metric_targets):
            if target.window_minutes is None or target.window_minutes <= minutes:
                continue
            msg = (
                f"{target.describe()} needs a {target.window_minutes}-minute window but phase {p_i + 1} "
                f"'{phase.name}' lasts {fmt_hours(phase.duration_hours or 0)}; shorten the window or "
                "lengthen "
                "the phase so the metric can be read before the decision"
            )
            field = f"phases[{p_i}].metric_targets[{t_i}].window_minutes"
            out.append(warning("metric_window_exceeds_phase", msg, field))
    timed = [(p.duration.total_seconds() / 60, i) for i, p in enumerate(spec.phases) if p.duration]
    if not timed:
        return out
    shortest, s_i = min(timed)
    for h_i, halt in enumerate(spec.halt_threshold):
        if halt.window_minutes is None or halt.window_minutes <= shortest:
            continue
        short = spec.phases[s_i]
        msg = (
            f"the halt threshold {halt.describe()} needs a {halt.window_minutes}-minute window but phase "
            f"{s_i + 1} '{short.name}' lasts only {fmt_hours(short.duration_hours or 0)}, so it could never "
            "fire there; shorten the window"
        )
        out.append(warning("metric_window_exceeds_phase", msg, f"halt_threshold[{h_i}].window_minutes"))
    return out


def _check_samples_and_gates(spec: RolloutFields) -> list[Finding]:
    return check_gates(spec)


def _check_calendar(spec: RolloutFields) -> list[Finding]:
    out = []
    hours = spec.business_hours
    for when, field, what in spec.phase_changes():
        day_name = DAY_NAMES[when.weekday()]
        if when.weekday() >= 5 and day_name not in hours.days:
            msg = (
                f"{what} on {fmt_time(when)}, a weekend, when few people are around to watch the metrics "
                f"and decide; move it to a working day by changing {field}"
            )
            out.append(warning("phase_change_on_weekend", msg, field))
        elif day_name not in hours.days or not hours.start <= f"{when:%H:%M}" < hours.end:
            msg = (
                f"{what} at {fmt_time(when)}, outside business hours ({hours.describe()}); move it into "
                f"working hours by changing {field}"
            )
            out.append(warning("phase_change_outside_business_hours", msg, field))
    return out


def _check_safety_net(spec: RolloutFields) -> list[Finding]:
    if spec.halt_threshold:
        return []
    msg = (
        "the rollout has no halt_threshold, so nothing stops it when a phase goes bad; add the conditions "
        "that halt it (the bad state, with a sustained window), e.g. error_rate > 5 percent for 5 minutes, "
        "the same as the rollback strategy's automatic triggers"
    )
    return [warning("no_halt_threshold", msg, "halt_threshold")]


def _same_audience(spec: RolloutFields, a: Phase, b: Phase) -> bool:
    """Whether ``b`` reaches nobody ``a`` did not, at the same percentage."""
    ta, tb = a.targeting, b.targeting
    if ta is None or tb is None:
        # Without targeting only the words say who is in; different words may be another cohort.
        return ta is tb and names.key(a.audience) == names.key(b.audience)
    added = {s.casefold() for s in tb.segments} - {s.casefold() for s in ta.segments}
    same_hash = (ta.stickiness or "").casefold() == (tb.stickiness or "").casefold() and (
        ta.stickiness is None or spec.group_id(ta) == spec.group_id(tb)
    )
    return not added and same_hash


def _check_exposure(spec: RolloutFields) -> list[Finding]:
    out = []
    for i in range(1, len(spec.phases)):
        a, b = spec.phases[i - 1], spec.phases[i]
        if b.percent != a.percent or not (a.percent >= 100 or _same_audience(spec, a, b)):
            continue
        msg = (
            f"phase {i + 1} '{b.name}' stays at {fmt_num(b.percent)}% with the audience of phase {i} "
            f"'{a.name}', so it exposes nobody new and its go/no-go call decides nothing; merge it into "
            f"'{a.name}' (lengthen that phase's duration_hours) or raise its percent"
        )
        out.append(warning("phase_adds_no_exposure", msg, f"phases[{i}].percent"))
    return out


def _check_decisions(spec: RolloutFields) -> list[Finding]:
    """Every phase followed by another ends in a go/no-go call: someone must own it and it must be
    read from a metric. The call that takes the rollout to 100% is an error when either is missing:
    nobody is left to compare with and no later phase can catch a regression before every user has it.
    """
    out = []
    for i in range(len(spec.phases) - 1):
        p, nxt = spec.phases[i], spec.phases[i + 1]
        missing = []
        if not p.decision_owner:
            missing.append(("decision_owner", "no decision_owner"))
        if not p.metric_targets and p.gate is None:
            missing.append(("metric_targets", "no metric_targets or gate to read"))
        if not missing:
            continue
        step = f"the go/no-go call at the end of phase {i + 1} '{p.name}' ({fmt_num(p.percent)}%)"
        if nxt.percent >= 100 > p.percent:
            lacks = " and ".join(m for _, m in missing)
            msg = (
                f"{step} takes the rollout to 100% in '{nxt.name}' with {lacks}; "
                "at 100% no users are left to compare with and no later phase catches a regression, so "
                "name who makes the call (decision_owner) and the healthy values it is read from "
                "(metric_targets, e.g. error_rate < 1 percent over 60 minutes, or a gate)"
            )
            out.append(error("ungated_step_to_full_rollout", msg, f"phases[{i}].{missing[0][0]}"))
            continue
        for field, _ in missing:
            if field == "decision_owner":
                msg = (
                    f"{step} has no decision_owner; name who decides whether '{nxt.name}' "
                    f"({fmt_num(nxt.percent)}%) goes ahead, e.g. Alice Chen (Engineering Lead)"
                )
                out.append(warning("phase_without_decision_owner", msg, f"phases[{i}].{field}"))
            else:
                prose = " (only prose rules)" if p.go_rules or p.no_go_rules or p.success_criteria else ""
                msg = (
                    f"{step} has no metric to decide on{prose}; add metric_targets with the healthy "
                    "values to read before going on, e.g. error_rate < 1 percent over 60 minutes, or a gate"
                )
                out.append(warning("phase_without_go_metric", msg, f"phases[{i}].{field}"))
    return out
