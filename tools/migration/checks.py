"""The migration path's own checks: phases in order and in sequence, exit criteria, a rollback plan.

Checks that need other artifacts of the release (the release plan, the rollout) are cross-artifact
rules in ``tools/review.py``.
"""

from __future__ import annotations

from ..base import Finding, error, warning
from ..common import MetricCondition
from .model import BRIDGE, TERMINAL, MigrationPathFields, MigrationPhase

# Each kind's family and position: a later kind may not start before an earlier one of its family.
_SEQUENCE: dict[str, tuple[str, int]] = {
    "announce": ("deprecation", 0),
    "dual_support": ("deprecation", 1),
    "sunset_warning": ("deprecation", 2),
    "shutdown": ("deprecation", 3),
    "expand": ("schema", 0),
    "migrate": ("schema", 1),
    "contract": ("schema", 2),
}


def _sequence_problem(earlier: MigrationPhase, later: MigrationPhase) -> str | None:
    """Why ``later`` is misplaced relative to ``earlier``, a phase its kind must follow; else None."""
    if earlier.kind not in _SEQUENCE or later.kind not in _SEQUENCE:
        return None
    (e_family, e_rank), (family, rank) = _SEQUENCE[earlier.kind], _SEQUENCE[later.kind]
    if e_family != family or e_rank >= rank:
        return None
    if later.start_days() < earlier.start_days():
        return (
            f"{later.kind} phase {later.name!r} starts at {later.start}, before {earlier.kind} phase "
            f"{earlier.name!r} at {earlier.start}; {earlier.kind} must come first"
        )
    e_end = earlier.end_days()
    if later.kind in TERMINAL and e_end is not None and later.start_days() < e_end:
        return (
            f"{later.kind} phase {later.name!r} starts at {later.start} while {earlier.kind} phase "
            f"{earlier.name!r} runs until {earlier.end}; start it at {earlier.end} or later"
        )
    return None


def check(spec: MigrationPathFields) -> list[Finding]:
    findings = _check_phase_order(spec)
    findings += _check_removal_before_release(spec)
    findings += _check_gaps(spec)
    findings += _check_exit_criteria(spec)
    if spec.rollback_plan is None:
        findings.append(
            warning(
                "missing_rollback_plan",
                f"migration path {spec.change!r} has no rollback_plan; say how the old behaviour is "
                "restored if the migration fails and for how many days that stays possible",
                "rollback_plan",
            )
        )
    return findings


def _check_phase_order(spec: MigrationPathFields) -> list[Finding]:
    out: list[Finding] = []
    for i, p in enumerate(spec.phases):
        end = p.end_days()
        if end is not None and end < p.start_days():
            out.append(
                error(
                    "phase_ends_before_start",
                    f"phase {p.name!r} ends at {p.end} before it starts at {p.start}; swap or fix them",
                    f"phases[{i}].end",
                )
            )
    for i in range(1, len(spec.phases)):
        prev, cur = spec.phases[i - 1], spec.phases[i]
        if cur.start_days() < prev.start_days():
            out.append(
                error(
                    "phases_out_of_order",
                    f"phase {cur.name!r} ({cur.start}) is listed after {prev.name!r} ({prev.start}) but "
                    "starts earlier; list phases in time order",
                    f"phases[{i}].start",
                )
            )
    for j, later in enumerate(spec.phases):
        for earlier in spec.phases:
            problem = _sequence_problem(earlier, later)
            if problem:
                out.append(error("phases_out_of_order", problem, f"phases[{j}].start"))
    return out


def _check_exit_criteria(spec: MigrationPathFields) -> list[Finding]:
    terminal = spec.terminal_phase()
    if terminal is None:
        return []
    _, phase = terminal
    if not spec.exit_criteria:
        return [
            warning(
                "shutdown_without_exit_criteria",
                f"{phase.kind} phase {phase.name!r} at {phase.start} has no exit criteria, so it happens "
                "on its date however many users are still on the old path; add exit_criteria such as "
                "old_api_call_share < 1 percent for 7 days",
                "exit_criteria",
            )
        ]
    if not any(isinstance(c, MetricCondition) for c in spec.exit_criteria):
        return [
            warning(
                "exit_criteria_not_measurable",
                f"the exit criteria before {phase.kind} phase {phase.name!r} are all prose; add at least "
                "one metric condition (metric, comparator, threshold, unit, window_minutes) that "
                "can be checked",
                "exit_criteria",
            )
        ]
    return []


def _removal_label(p: MigrationPhase) -> str:
    if p.kind in TERMINAL:
        return f"{p.kind} phase {p.name!r}"
    return f"{p.kind} phase {p.name!r}, whose actions drop the old path,"


def _check_removal_before_release(spec: MigrationPathFields) -> list[Finding]:
    """A phase that takes the old path away before the release day T: the release that carries the
    change (and its new path) has not shipped yet, and no rollback of it can bring the old path back.
    (On T itself and inside the rollback window it is the review rule ``contract_inside_rollback_window``.)"""
    return [
        error(
            "contract_before_release",
            f"{_removal_label(p)} takes the old path away at {p.start}, {-p.start_days()} days before "
            f"the release (T) that ships {spec.change!r}: users lose it before the release reaches them "
            "and rolling the release back cannot restore it; move it after the release's rollback "
            "window (and set rollback_plan.window_days)",
            f"phases[{i}].start",
        )
        for i, p in spec.removal_phases()
        if p.start_days() < 0
    ]


def _check_gaps(spec: MigrationPathFields) -> list[Finding]:
    """A stretch in which the old path is already gone and the new one not yet offered.

    The old path is there until the first phase that takes it away (``MigrationPhase.removes_old``:
    shutdown, contract, or actions that drop the old thing). The new path is offered from the first
    phase that runs it next to the old one: dual_support or migrate (``BRIDGE``). A removal that starts
    before that leaves users with neither from its start to the day before the bridge starts.

    Once a bridge has started the new path stays, so days between the end of dual support (or of the
    migrate phase) and the removal are not a gap: the old path still runs and the new one is there.
    With no bridge phase the release itself (T) brings the new path, and a removal before T is
    ``contract_before_release``. A removal that starts before a bridge of its own family (a shutdown
    before dual_support, a contract before migrate) is already ``phases_out_of_order``, so it is not
    reported twice."""
    bridges = [p for p in spec.phases if p.kind in BRIDGE]
    if not bridges:
        return []
    bridge = min(bridges, key=lambda p: p.start_days())
    out: list[Finding] = []
    for i, p in spec.removal_phases():
        if p.start_days() >= bridge.start_days() or _sequence_problem(bridge, p):
            continue
        out.append(
            error(
                "old_path_removed_before_new_path",
                f"{_removal_label(p)} takes the old path away at {p.start}, but the new path is offered "
                f"only from {bridge.start} ({bridge.kind} phase {bridge.name!r}), so from {p.start} "
                f"until {bridge.start} users have neither; start {p.name!r} after {bridge.name!r} has "
                f"moved users (at {bridge.end or bridge.start} or later)",
                f"phases[{i}].start",
            )
        )
    return out
