"""The rollout-plan kind (tool ``plan_rollout``); the spec and its descriptor live in ``model``."""

from .model import (
    FAMILY_ALPHA,
    KIND,
    WEEKDAYS,
    Approach,
    BusinessHours,
    DayName,
    Flag,
    Gate,
    GateType,
    Phase,
    PhaseWindow,
    RolloutSpec,
    StartTime,
    Targeting,
    check_wall_time,
    load_zone,
)

__all__ = [
    "FAMILY_ALPHA",
    "KIND",
    "WEEKDAYS",
    "Approach",
    "BusinessHours",
    "DayName",
    "Flag",
    "Gate",
    "GateType",
    "Phase",
    "PhaseWindow",
    "RolloutSpec",
    "StartTime",
    "Targeting",
    "check_wall_time",
    "load_zone",
]
