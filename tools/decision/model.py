"""A go/no-go decision at a phase's gate: who decided what, when, and on which evidence.

``DecisionFields`` holds every field of ``record_decision``. The phase is named as people name it (its
name, or its 1-based number in the rollout); ``phase_number`` resolves it against a rollout. The
sequence of a release's decisions (``sequence``) is what both the review rules and the release's status
read: which phases have passed, and whether the release has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from ..base import SpecModel
from ..common import MAX_ITEMS, ShortText, Text, Version
from ..names import key
from ..results import GateEvidence

DecisionValue = Literal["go", "hold", "rollback"]
PhaseRef = Annotated[
    int | ShortText,
    Field(description="The phase whose gate this decides: its name, or its number (1 = first phase)"),
]


FUTURE_ALLOWANCE = timedelta(minutes=10)  # clocks of the caller and the server may differ a little


def _now() -> datetime:
    return datetime.now(UTC)


class DecisionFields(SpecModel):
    """A go, hold or rollback decision at the gate of one rollout phase."""

    version: Version
    phase: PhaseRef
    decision: DecisionValue = Field(
        description="go: the phase passed, move on; hold: stay and gather data; rollback: undo the release"
    )
    decided_by: ShortText = Field(description="Who decided, e.g. 'Dana Lee (release manager)'")
    decided_at: AwareDatetime | None = Field(
        default=None, description="When, with its zone, e.g. 2026-03-18T10:00:00Z; default now"
    )
    reasons: list[Text] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Why, in the decider's words"
    )
    evidence: GateEvidence | None = Field(
        default=None, description="The evaluate_gate result this decision rests on, as returned"
    )
    rollback_procedure: ShortText | None = Field(
        default=None, description="For a rollback: the rollback strategy's procedure used, by its type"
    )

    @field_validator("phase")
    @classmethod
    def _phase_number_from_one(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise ValueError(f"phase numbers start at 1 (the first phase), got {value}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _stamp_now(cls, data: Any) -> Any:
        # The time of the call when none is given; stored, so the spec reads back the same.
        if isinstance(data, dict) and data.get("decided_at") is None:
            data = {**data, "decided_at": _now()}
        return data

    @field_validator("decided_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        # A mistyped year would sort after every real decision and wedge the release's sequence.
        if value is not None and value > _now() + FUTURE_ALLOWANCE:
            raise ValueError(
                f"{value.isoformat()} is in the future; a decision is recorded when it is made "
                "(omit decided_at for now)"
            )
        return value

    @property
    def moment(self) -> datetime:
        assert self.decided_at is not None  # _stamp_now fills it
        return self.decided_at

    def identity(self) -> str:
        """Which decision this is: its phase, its exact time and its verdict (decisions are a record:
        another one at another moment is another artifact, never an update)."""
        return f"{key(str(self.phase))}@{self.moment.astimezone(UTC).isoformat()}#{self.decision}"

    def stamp(self) -> str:
        return self.moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def norm(text: str) -> str:
    """Names compared the way people write them: case, spaces, '-', '_' and '.' do not matter."""
    return key(text)


def phase_number(rollout: Any, ref: int | str) -> int | None:
    """The 1-based number of the phase ``ref`` names in ``rollout``, or None if it names none."""
    phases = list(getattr(rollout, "phases", None) or [])
    if isinstance(ref, int):
        return ref if 1 <= ref <= len(phases) else None
    text = str(ref).strip()
    if text.isdigit():
        n = int(text)
        return n if 1 <= n <= len(phases) else None
    wanted = norm(text)
    return next((i for i, p in enumerate(phases, start=1) if norm(p.name) == wanted), None)


def phase_name(rollout: Any, ref: int | str) -> str:
    n = phase_number(rollout, ref)
    return rollout.phases[n - 1].name if n is not None else str(ref)


@dataclass(frozen=True)
class Step:
    """One decision placed in the release's sequence."""

    index: int  # position in the list given to ``sequence``
    decision: Any
    phase: int | None
    problem: str | None  # why it is out of place, or None


@dataclass(frozen=True)
class Sequence:
    steps: list[Step]
    passed: int  # phases passed in order (their gates said go)
    ended: Literal["done", "cancelled"] | None
    last: Any  # the decision that ended the release, or the latest one


def chronological(decisions: list[Any], rollout: Any) -> list[int]:
    """The decisions' indices in the order they were made. At one instant the earlier phase comes
    first, and at one phase a hold before the go or rollback that ends it, so the order never depends
    on how the store happened to list them."""
    verdict_rank = {"hold": 0, "go": 1, "rollback": 1}

    def when(i: int) -> tuple[Any, ...]:
        d = decisions[i]
        return (d.moment, phase_number(rollout, d.phase) or 0, verdict_rank[d.decision])

    return sorted(range(len(decisions)), key=when)


def sequence(decisions: list[Any], rollout: Any) -> Sequence:
    """Decisions in time order, each checked against the ones before it.

    A decision is about the phase under way: after phases 1..k passed (a go at each gate, in order),
    the phase under way is k+1, and a go, hold or rollback for any other phase is out of place. A go
    at the last phase ends the release (done); a rollback ends it (cancelled); nothing comes after.
    """
    order = chronological(decisions, rollout)
    total = len(getattr(rollout, "phases", None) or [])
    passed: int = 0
    ended: Literal["done", "cancelled"] | None = None
    last: Any = None
    steps = []
    for i in order:
        d = decisions[i]
        n = phase_number(rollout, d.phase)
        problem = None
        if ended is not None:
            problem = f"the release already ended ({ended}) with the decision of {last.stamp()}"
        elif n is not None and n != passed + 1:
            under_way = f"phase {passed + 1}" if passed < total else "no phase"
            problem = (
                f"phase {n} already passed" if n <= passed else f"phase {passed + 1} has not passed yet"
            ) + f"; the phase under way is {under_way}"
        if problem is None and n is not None:
            last = d
            if d.decision == "go":
                passed = n
                if n == total:
                    ended = "done"
            elif d.decision == "rollback":
                ended = "cancelled"
        steps.append(Step(i, d, n, problem))
    return Sequence(steps, passed, ended, last)
