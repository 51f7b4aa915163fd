"""The whole-release review: checks that read more than one artifact, as named rules.

``engine`` holds what a rule is and how findings reach writes and reads; each ``*_rules`` module
declares the rules of one area with ``RuleSet.rule`` above the function that finds their issues.
Adding a rule is one decorated function in the module of its area.
"""

from __future__ import annotations

from ..base import Finding, ReleaseContext
from . import calendar_rules, execution_rules, identity_rules, plan_rules, rollback_rules, rollout_rules
from .engine import (
    Issue,
    ReviewFinding,
    Rule,
    RuleSet,
    artifact_id,
    check_artifact,
    for_artifact,
    migration_id,
    qualified,
    run_rules,
)

RULES: tuple[Rule, ...] = (
    *plan_rules.RULES,
    *rollback_rules.RULES,
    *rollout_rules.RULES,
    *identity_rules.RULES,
    *calendar_rules.RULES,
    *execution_rules.RULES,
)


def review(ctx: ReleaseContext) -> list[ReviewFinding]:
    """Every rule of every area over the whole release."""
    return run_rules(ctx, RULES)


__all__ = [
    "RULES",
    "Finding",
    "Issue",
    "ReviewFinding",
    "Rule",
    "RuleSet",
    "artifact_id",
    "check_artifact",
    "for_artifact",
    "migration_id",
    "qualified",
    "review",
]
