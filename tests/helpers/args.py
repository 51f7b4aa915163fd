"""Small, valid tool arguments with a caller-chosen marker, so a stored artifact names its writer."""

from __future__ import annotations

import copy
from typing import Any

from release_planner.tools.examples import rollback as rollback_example


def plan_args(version: str, name: str) -> dict[str, Any]:
    """``create_release_plan`` arguments for ``version``; ``name`` is the marker."""
    _major, minor, patch = (int(x) for x in version.split("+")[0].split("-")[0].split("."))
    release_type = "patch" if patch else "minor" if minor else "major"
    return {
        "version": version,
        "name": name,
        "target_date": "2026-06-01",
        "release_type": release_type,
        "objectives": [f"objective written as {name}"],
        "features": [{"name": "Feature", "batch": "must_have", "reason": "needed", "risk": "low"}],
    }


def rollback_args(version: str, marker: str) -> dict[str, Any]:
    """``design_rollback`` arguments (the skill's example) for ``version``; the marker is the one
    manual trigger."""
    return {**copy.deepcopy(rollback_example.ARGS), "version": version, "manual_triggers": [marker]}
