"""What a review rule is, and how its findings reach writes and reads.

A spec's own ``check`` looks at that spec alone. What depends on two artifacts (a halt threshold
against the rollback triggers, a contract phase against the rollout's end) is a ``Rule``: a stable
code, the kinds it reads, the kind whose fields its findings point at, and the fix. Rules run over
the whole ``ReleaseContext``, the same way on every write and every read, so what is reported never
depends on which artifact was written last.

Each finding names the artifacts it involves (``ReviewFinding.involves``): a write reports the
findings its artifact takes part in, a read reports them all. A rule's error blocks only a write of
the artifact its field points at; to the other artifacts it involves it is a warning to pass on,
since their writer cannot fix it there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import migration, release_plan, rollback, rollout, runbook
from ..base import Finding, ReleaseContext, Severity
from ..registry import kind_of_spec

RELEASE_PLAN = release_plan.KIND.name
MIGRATION = migration.KIND.name
ROLLBACK = rollback.KIND.name
ROLLOUT = rollout.KIND.name
RUNBOOK = runbook.KIND.name


def procedures(ctx: ReleaseContext) -> list[Any]:
    """The rollback strategy's procedures, none when there is no strategy. Read with getattr, like
    every slot of another artifact: a rule must not fail on a partial one."""
    return list(getattr(ctx.rollback, "procedures", None) or [])


def artifact_id(kind: str, key: str | None = None) -> str:
    """How a finding names one artifact: the kind, and for a kind with many, which one."""
    return kind if key is None else f"{kind}:{key}"


def migration_id(spec: Any) -> str:
    return artifact_id(MIGRATION, str(spec.change).casefold())


@dataclass(frozen=True)
class Issue:
    """What a rule found: its message, the field it points at, and the artifacts involved."""

    message: str
    field: str
    involves: frozenset[str]


Finder = Callable[[ReleaseContext], Iterable[Issue]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    reads: frozenset[str]
    points_at: str
    fix: str
    find: Finder

    def run(self, ctx: ReleaseContext) -> Iterator[ReviewFinding]:
        for issue in self.find(ctx):
            yield ReviewFinding(
                finding=Finding(
                    code=self.code,
                    severity=self.severity,
                    message=issue.message,
                    field=issue.field,
                    kind=self.points_at,
                ),
                involves=issue.involves,
            )


@dataclass(frozen=True)
class ReviewFinding:
    finding: Finding
    involves: frozenset[str]


class RuleSet:
    """The rules of one module; ``rule`` declares one above the function that finds its issues."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def rule(
        self, code: str, severity: Severity, *, reads: set[str], points_at: str, fix: str
    ) -> Callable[[Finder], Finder]:
        def declare(find: Finder) -> Finder:
            self.rules.append(Rule(code, severity, frozenset(reads), points_at, fix, find))
            return find

        return declare

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)


def run_rules(ctx: ReleaseContext, rules: Iterable[Rule]) -> list[ReviewFinding]:
    """Every rule over the whole release, in rule order."""
    return [found for rule in rules for found in rule.run(ctx)]


def for_artifact(found: Iterable[ReviewFinding], artifact: str) -> list[Finding]:
    """The findings ``artifact`` takes part in, as its write reports them: an error in another
    artifact's fields is passed on as a warning, since this write cannot fix it."""
    out = []
    for item in found:
        if artifact not in item.involves:
            continue
        f = item.finding
        own = f.kind == artifact.split(":", 1)[0]
        out.append(f if own or f.severity == "warning" else f.model_copy(update={"severity": "warning"}))
    return out


def check_artifact(spec: Any, ctx: ReleaseContext, *, replacing: Any = None) -> list[Finding]:
    """What a write of ``spec`` reports: its own findings, then the whole-release findings it takes
    part in, with ``spec`` put in its slot of ``ctx`` (in place of ``replacing``, its stored version).
    A review finding names the artifact it points at, so it reads the same from every write and read."""
    kind = kind_of_spec(spec)
    ctx = ctx.with_spec(kind, spec, replacing=replacing)
    key = kind.key(spec) if kind.many and kind.key is not None else None
    from . import review  # the rule modules import this one

    involved = for_artifact(review(ctx), artifact_id(kind.name, key))
    return list(spec.check(ctx)) + [f.model_copy(update={"message": qualified(f)}) for f in involved]


def qualified(f: Finding) -> str:
    """The message as a whole-release view shows it: prefixed with the artifact it points at."""
    if f.kind is None:
        return f.message
    return f"{f.kind}: {f.message}" if f.severity == "warning" else f"{f.kind} (error): {f.message}"
