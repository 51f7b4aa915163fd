"""The evidence behind a rollback procedure's confidence, and the confidence rule.

Confidence rule (also rendered in the Markdown and returned as ``computed()["rule"]``):

* Per procedure, the evidence: a baseline by complexity (very_low 0.99, low 0.95, medium 0.90,
  high 0.85, very_high 0.80) when a rehearsal counts, else that baseline capped at 0.70. A rehearsal
  counts when it met the stated time-to-rollback, found no issues, and is dated no later than the
  release day (the release plan's target date, when one is stored): a rehearsal with issues, a slower
  one or one after the release is no evidence for this release. A data-loss risk caps the figure
  again (possible 0.80, certain 0.60). A stated ``confidence`` replaces the evidence figure in the
  overall value, and a finding points at it when it is above the evidence.
* Overall (when not stated): for each feature of the release plan that is not deferred, the best
  confidence among the procedures that cover it, then the lowest of those, since the release is only
  as recoverable as its least recoverable feature. A feature no procedure covers counts as 0. With no
  release plan (or one without features) the overall is the best confidence among the procedures that
  apply to ``all`` (among all procedures when none does). The evidence figure
  (``evidence_confidence``) is the same rule with every stated value ignored.

The rule is monotone in the evidence: adding a rehearsal never lowers a confidence (a failed one
counts like none), and a slower rehearsal never raises it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from ..base import ReleaseContext

if TYPE_CHECKING:
    from .model import Rehearsal, RollbackFields, RollbackProcedure

REHEARSED_BY_COMPLEXITY: dict[str, float] = {
    "very_low": 0.99,
    "low": 0.95,
    "medium": 0.90,
    "high": 0.85,
    "very_high": 0.80,
}
UNREHEARSED_CAP = 0.70
DATA_LOSS_CAP: dict[str, float] = {"none": 1.0, "possible": 0.80, "certain": 0.60}
HIGH_CONFIDENCE = 0.9

PER_PROCEDURE_RULE = (
    "each procedure's is its stated confidence, else 0.99/0.95/0.90/0.85/0.80 by complexity (very low to "
    "very high) when a rehearsal met the stated time with no issues found, no later than the release day, "
    "capped at 0.70 without such a rehearsal, at 0.80 when data loss is possible and at 0.60 when it is "
    "certain"
)

# What people write in issues_found when a rehearsal found nothing: such an entry is not an issue.
_NO_ISSUE = re.compile(
    r"^\W*(?:none|nil|n/?a|-+|nothing(?:\s+found)?|no(?:ne)?\s+(?:issues?|problems?|findings?)"
    r"(?:\s+(?:found|observed|noted))?)\W*$",
    re.IGNORECASE,
)


def release_day(ctx: ReleaseContext | None) -> dt.date | None:
    """The release plan's target date (T), when a plan with one is stored."""
    day = getattr(getattr(ctx, "plan", None), "target_date", None)
    return day if isinstance(day, dt.date) else None


def real_issues(reh: Rehearsal | None) -> list[str]:
    """The issues a rehearsal found, leaving out entries that only say there were none ("None", "N/A")."""
    if reh is None:
        return []
    return [i for i in reh.issues_found if i.strip() and not _NO_ISSUE.match(i)]


def after_release(reh: Rehearsal | None, day: dt.date | None) -> bool:
    return reh is not None and day is not None and reh.date > day


def rehearsal_passed(proc: RollbackProcedure, day: dt.date | None = None) -> bool:
    """Whether the procedure's rehearsal counts as evidence: it met the stated time, found no issues,
    and (when the release day ``day`` is known) happened no later than the release."""
    reh = proc.rehearsal
    return (
        reh is not None
        and reh.measured_minutes <= proc.time_to_rollback_minutes
        and not real_issues(reh)
        and not after_release(reh, day)
    )


def evidence_procedure_confidence(proc: RollbackProcedure, day: dt.date | None = None) -> float:
    """What the evidence supports for one procedure, ignoring a stated confidence."""
    value = REHEARSED_BY_COMPLEXITY[proc.complexity]
    if not rehearsal_passed(proc, day):
        value = min(value, UNREHEARSED_CAP)
    return min(value, DATA_LOSS_CAP[proc.data_loss_risk])


def procedure_confidence(proc: RollbackProcedure, day: dt.date | None = None) -> float:
    """The stated confidence, else the one the evidence supports (see the module docstring)."""
    if proc.confidence is not None:
        return proc.confidence
    return evidence_procedure_confidence(proc, day)


def overstated(stated: float | None, evidence: float) -> bool:
    """Whether a stated confidence is above the evidence figure, as both are shown (two decimals)."""
    return stated is not None and stated > evidence and f"{stated:.2f}" != f"{evidence:.2f}"


# Which stated confidences the spec's own checks already report (so the review does not repeat them).


def claims_without_rehearsal(proc: RollbackProcedure) -> bool:
    return proc.confidence is not None and proc.confidence > HIGH_CONFIDENCE and proc.rehearsal is None


def claims_despite_issues(proc: RollbackProcedure) -> bool:
    return bool(real_issues(proc.rehearsal)) and overstated(
        proc.confidence, evidence_procedure_confidence(proc)
    )


def overall_claims_without_rehearsal(spec: RollbackFields) -> bool:
    stated = spec.stated_confidence
    return (
        stated is not None and stated > HIGH_CONFIDENCE and all(p.rehearsal is None for p in spec.procedures)
    )
