"""What an export returns, and the engine-neutral reading of a rollout every exporter starts from.

``cohort_plan`` reads the rollout once: the flags, ONE bucketing attribute and ONE hash group for the
whole rollout (so the users in at 5% are still in at 20%, in every engine), each phase's share and
segments. Where the plan itself varies them between phases, the export keeps the first choice and
says so: an engine configuration whose cohorts do not nest would undo the plan's safety. For the same
reason a phase that drops an earlier phase's segments, or its percentage, gets them back (with a
warning), and a phase at 100% is everyone, whatever segments it names.

A segment is read as a rule when it is written ``attribute=value`` (also ``==``, ``!=``, ``in``, a
comma-separated list of values), and as a named whitelist otherwise (``employees``); a named
whitelist's members are not in the plan, so engines get an empty list to fill in, never a rule that
matches everyone.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..rollout import RolloutFields

Target = Literal["unleash", "launchdarkly", "flagd", "argo_rollouts", "flagger"]


class ExportWarning(BaseModel):
    """Something of the plan the engine cannot express as planned, and what the export did instead."""

    code: str = Field(description="Stable identifier, e.g. export_segment_placeholder")
    field: str | None = Field(default=None, description="Path in the rollout plan, e.g. phases[1].targeting")
    message: str = Field(description="What does not translate, what the export did, and what to do")


class ExportDocument(BaseModel):
    """One configuration document for the engine, ready to serialize as JSON (or YAML)."""

    name: str = Field(description="Suggested file name, e.g. phase-2-beta-users.json")
    phase: str | None = Field(default=None, description="The phase this document configures; none: all")
    percent: float | None = Field(default=None, description="The phase's planned share, in percent")
    kind: str = Field(description="What the document is, e.g. Unleash client features, Rollout")
    content: dict[str, Any] = Field(description="The document itself")


class ExportResult(BaseModel):
    """The rollout plan as configuration for one engine."""

    version: str
    target: Target
    engine: str = Field(description="The engine and the format of the documents")
    documents: list[ExportDocument]
    warnings: list[ExportWarning] = Field(
        default_factory=list, description="What does not translate to this engine, and what was done instead"
    )
    notes: list[str] = Field(default_factory=list, description="What to fill in or do before applying")


class Warnings:
    """Collects an export's warnings once each, in the order they are found."""

    def __init__(self) -> None:
        self.items: list[ExportWarning] = []

    def add(self, code: str, field: str | None, message: str) -> None:
        warning = ExportWarning(code=code, field=field, message=message)
        if warning not in self.items:
            self.items.append(warning)


# ---- segments -------------------------------------------------------------------------------------

_RULE = re.compile(r"^\s*([^\W\d][\w.\-]*)\s*(==|!=|=|\bnot in\b|\bin\b)\s*(.+?)\s*$", re.I)


@dataclass(frozen=True)
class Segment:
    """One of the plan's segments: an attribute rule, or a named whitelist the engine must fill in."""

    text: str
    key: str
    attribute: str | None = None  # None: a named whitelist
    values: tuple[str, ...] = ()
    negate: bool = False

    @property
    def is_rule(self) -> bool:
        return self.attribute is not None

    @property
    def identity(self) -> tuple[object, ...]:
        """What the segment means: two spellings of one rule (or of one group's name) are one segment."""
        if self.attribute is None:
            return ("group", " ".join(self.text.casefold().split()))
        return ("rule", self.attribute, self.negate, frozenset(self.values))


def slug(text: str, limit: int = 63) -> str:
    """A lowercase name of letters, digits and dashes, e.g. for ids and Kubernetes names."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return out or "x"


def parse_segment(text: str) -> Segment:
    match = _RULE.match(text)
    if match is None:
        return Segment(text=text, key=slug(text))
    attribute, op, raw = match.groups()
    raw = raw.strip().strip("[]()")
    values = tuple(v.strip().strip("'\"") for v in raw.split(",") if v.strip().strip("'\""))
    if not values:
        return Segment(text=text, key=slug(text))
    return Segment(
        text=text, key=slug(text), attribute=attribute, values=values, negate=op.lower() in ("!=", "not in")
    )


def typed_values(values: tuple[str, ...]) -> list[Any]:
    """Each value as written and, when it reads as one, as a boolean or number too: engines that
    compare typed JSON values (LaunchDarkly, flagd) then match ``true`` and ``"true"`` alike."""
    out: list[Any] = []
    for value in values:
        out.append(value)
        low = value.lower()
        if low in ("true", "false"):
            out.append(low == "true")
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        out.append(int(number) if number.is_integer() and "." not in value else number)
    return out


# ---- bucketing ------------------------------------------------------------------------------------

_USER = {"userid", "user_id", "user-id", "user", "uid", "user.id"}
_SESSION = {"sessionid", "session_id", "session-id", "session"}


def canonical_attribute(stickiness: str | None) -> str:
    """userId, sessionId, random or the plan's own attribute name (Unleash spells the first three so)."""
    if stickiness is None:
        return "userId"
    low = stickiness.strip().lower()
    if low in _USER or low == "default":
        return "userId"
    if low in _SESSION:
        return "sessionId"
    if low == "random":
        return "random"
    return stickiness.strip()


def rule_field(attribute: str) -> str:
    """A rule's attribute as the engines' context names it: userId or sessionId when it spells one
    (so ``userId in alice,bob`` is a whitelist on the user's id), else the plan's own name."""
    canonical = canonical_attribute(attribute)
    return canonical if canonical in ("userId", "sessionId") else attribute


def seed_of(group: str) -> int:
    """A fixed 31-bit seed derived from the hash group, the same on every run and machine."""
    return int.from_bytes(hashlib.sha256(group.encode()).digest()[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class Bucketing:
    """How every phase picks its percentage: one attribute and one group for the whole rollout."""

    attribute: str  # userId, sessionId, random or a custom attribute
    group: str

    @property
    def seed(self) -> int:
        return seed_of(self.group)


@dataclass(frozen=True)
class PhaseCohort:
    index: int
    name: str
    percent: float
    by_percentage: bool  # False: a segment-only phase
    segments: tuple[Segment, ...]

    @property
    def field(self) -> str:
        return f"phases[{self.index}]"


@dataclass
class CohortPlan:
    version: str
    flags: list[tuple[str, str | None]]  # (key, description)
    bucketing: Bucketing
    phases: list[PhaseCohort]
    segments: list[Segment] = field(default_factory=list)  # every segment, in order of first use

    def file_name(self, phase: PhaseCohort, ext: str = "json") -> str:
        return f"phase-{phase.index + 1}-{slug(phase.name, 40)}.{ext}"


def release_slug(version: str) -> str:
    return "release-" + slug(version, 50)


def cohort_plan(spec: RolloutFields, version: str, warn: Warnings) -> CohortPlan:
    """The rollout as the feature-flag exporters read it, with what had to be made constant."""
    flags = [(f.name, f.description) for f in spec.flags]
    if not flags:
        key = release_slug(version)
        flags = [(key, f"Release {version}")]
        warn.add(
            "export_no_flags",
            "flags",
            f"the rollout names no feature flag; exported one flag '{key}'. Add the flags to plan_rollout "
            "to choose their keys",
        )
    chosen = next((p for p in spec.phases if p.targeting is not None and p.targeting.stickiness), None)
    stickiness = chosen.targeting.stickiness if chosen and chosen.targeting else None
    group = (spec.group_id(chosen.targeting) if chosen and chosen.targeting else None) or flags[0][0]
    bucketing = Bucketing(canonical_attribute(stickiness), group)
    phases: list[PhaseCohort] = []
    segments: dict[tuple[object, ...], Segment] = {}
    for i, p in enumerate(spec.phases):
        t = p.targeting
        where = f"phases[{i}].targeting"
        if t is None:
            warn.add(
                "export_no_targeting",
                where,
                f"phase {i + 1} '{p.name}' has no targeting; exported as {p.percent:g}% of users hashed on "
                f"{bucketing.attribute} in group '{group}'. Give it targeting.stickiness to say who",
            )
        elif t.stickiness is None:
            pass  # a segment-only phase: see below
        elif canonical_attribute(t.stickiness) != bucketing.attribute:
            warn.add(
                "export_stickiness_changed",
                f"{where}.stickiness",
                f"phase {i + 1} '{p.name}' hashes on {t.stickiness!r} but an earlier phase on "
                f"{stickiness!r}; exported with {stickiness!r} in every phase so that cohorts nest. Use one "
                "stickiness in every phase",
            )
        elif t.stickiness is not None and spec.group_id(t) != group:
            warn.add(
                "export_group_changed",
                f"{where}.group_id",
                f"phase {i + 1} '{p.name}' hashes in group {spec.group_id(t)!r} but an earlier phase in "
                f"{group!r}; exported with {group!r} in every phase so that cohorts nest. Use one group_id",
            )
        parsed: list[Segment] = []
        for text in t.segments if t else []:
            s = _registered(parse_segment(text), segments)
            if s not in parsed:
                parsed.append(s)
        by_percentage = t is None or t.stickiness is not None or p.percent >= 100
        earlier = phases[-1] if phases else None
        if earlier is not None and p.percent < 100:
            # everyone on in the phase before stays on in this one, as in the stickiness and group
            dropped = [s for s in earlier.segments if s not in parsed]
            if dropped:
                parsed += dropped
                warn.add(
                    "export_segments_carried",
                    f"{where}.segments",
                    f"phase {i + 1} '{p.name}' drops the segments "
                    f"{', '.join(repr(s.text) for s in dropped)} of the phase before, whose members would "
                    "lose the flags; exported with them so that cohorts nest. Keep earlier segments in "
                    "later phases",
                )
            if earlier.by_percentage and not by_percentage:
                by_percentage = True
                warn.add(
                    "export_percentage_carried",
                    f"{where}.stickiness",
                    f"phase {i + 1} '{p.name}' is segment-only after a percentage phase, whose users would "
                    f"lose the flags; exported with {p.percent:g}% hashed on {bucketing.attribute} as well. "
                    "Keep targeting.stickiness in every phase after the first percentage",
                )
        if not by_percentage:
            warn.add(
                "export_segment_only",
                f"{where}.stickiness",
                f"phase {i + 1} '{p.name}' has segments and no stickiness, so its {p.percent:g}% is not "
                "exported as a percentage: only the segments' members get the flags. Set "
                f"targeting.stickiness (e.g. userId) to add a sticky {p.percent:g}% of everyone else",
            )
        phases.append(PhaseCohort(i, p.name, p.percent, by_percentage, tuple(parsed)))
    return CohortPlan(version, flags, bucketing, phases, list(segments.values()))


def _registered(seg: Segment, known: dict[tuple[object, ...], Segment]) -> Segment:
    """The plan's one Segment for what ``seg`` means, with a key no other segment has: keys are
    slugs, and different segments can share one (``plan=pro`` and ``plan!=pro``, or two names in a
    script the slug drops), which would make a later phase reuse an earlier phase's definition."""
    if seg.identity in known:
        return known[seg.identity]
    taken = {s.key for s in known.values()}
    base = seg.key
    if not re.search(r"[a-z0-9]", seg.text.lower()):  # nothing of the name survives in the slug
        base = "named-" + hashlib.sha256(seg.text.encode()).hexdigest()[:8]
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    seg = replace(seg, key=key)
    known[seg.identity] = seg
    return seg


def placeholder_warnings(plan: CohortPlan, warn: Warnings, how: str) -> None:
    """One warning per named whitelist: the engine gets an empty list of members to fill in."""
    for s in plan.segments:
        if s.is_rule:
            continue
        first = next(p for p in plan.phases if s in p.segments)
        warn.add(
            "export_segment_placeholder",
            f"{first.field}.targeting.segments",
            f"segment {s.text!r} names a group, not a rule: exported as {how} '{s.key}' with no members, "
            f"which matches nobody until you fill it in (or write the segment as attribute=value, e.g. "
            "beta_tester=true)",
        )
