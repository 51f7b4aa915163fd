"""The migration path's own checks: phases in order and in sequence, exit criteria, a rollback plan.

Checks that need other artifacts of the release (the release plan, the rollout) are cross-artifact
rules in ``tools/review.py``.
"""

from __future__ import annotations

from ..base import Finding, error, warning
from ..common import MetricCondition
from .model import TERMINAL, MigrationPathFields, MigrationPhase

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
