"""The types every other module of the domain builds on; this module imports no artifact kind.

- ``Finding``: one result of checking a plan (errors block a write, warnings travel with it).
- ``SpecModel``: the base of every artifact's spec (the tool's parameters, stored as JSON).
- ``ReleaseContext``: the release as the checks and renderers see it, one slot per artifact kind.
- ``ArtifactKind``: the descriptor that says everything about one kind of artifact. Each kind's
  package declares one; ``tools.registry`` collects them, and nothing else branches on kind names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["error", "warning"]
EntityType = Literal["context", "reasoning"]


class Finding(BaseModel):
    """One result of checking a plan. Errors block the write; warnings are returned with it.

    ``code`` is stable (tests and agents may match on it); ``message`` is for people. ``field`` is
    the path of the input field to fix, in the artifact named by ``kind`` (None: the artifact
    being checked, which is what single-artifact checks report).
    """

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    message: str
    field: str | None = None
    kind: str | None = None


def error(code: str, message: str, field: str | None = None, *, kind: str | None = None) -> Finding:
    return Finding(code=code, severity="error", message=message, field=field, kind=kind)


def warning(code: str, message: str, field: str | None = None, *, kind: str | None = None) -> Finding:
    return Finding(code=code, severity="warning", message=message, field=field, kind=kind)


class SpecModel(BaseModel):
    """Base for artifact specs: strict about unknown fields so typos are reported, not dropped.

    A spec's fields are exactly its tool's top-level parameters (``version`` included), so the MCP
    layer exposes them one to one. ``model_dump(mode="json")`` is what gets stored; loading it back
    with ``model_validate`` gives an equal model and the same Markdown, byte for byte. Each kind's
    spec also provides ``title``, ``check`` (its own findings, never another artifact's),
    ``render``, ``confidence`` and ``computed``, each taking the ``ReleaseContext``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# slot name -> whether the kind has many artifacts per release; every ArtifactKind declares its slot
# here when it is made, so the context needs no list of kinds.
_SLOTS: dict[str, bool] = {}


class ReleaseContext:
    """The typed specs of one release, one slot per artifact kind (None, or empty for a kind with many
    artifacts, where not planned yet): ``ctx.plan``, ``ctx.migrations``, ``ctx.rollout`` ...

    The slots are the ones the kinds' descriptors declare (``ArtifactKind.slot``), so this module does
    not import the kinds (they import it) and a new kind needs no change here.
    """

    def __init__(self, version: str, **slots: Any) -> None:
        unknown = set(slots) - set(_SLOTS)
        if unknown:
            raise TypeError(f"no artifact kind has the slot(s) {sorted(unknown)}; known: {sorted(_SLOTS)}")
        self.version = version
        self._slots: dict[str, Any] = dict(slots)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in _SLOTS:
            raise AttributeError(name)
        return self._slots.get(name, [] if _SLOTS[name] else None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReleaseContext) and (self.version, self._filled()) == (
            other.version,
            other._filled(),
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ReleaseContext(version={self.version!r}, {', '.join(sorted(self._filled()))})"

    def _filled(self) -> dict[str, Any]:
        return {k: v for k, v in self._slots.items() if v not in (None, [])}

    def without(self, kind: ArtifactKind, spec: Any) -> ReleaseContext:
        """A copy with ``spec`` taken out of its kind's slot (a retired artifact)."""
        slots = dict(self._slots)
        slots[kind.slot] = [s for s in getattr(self, kind.slot) if s is not spec] if kind.many else None
        return ReleaseContext(self.version, **slots)

    def with_spec(self, kind: ArtifactKind, spec: Any, replacing: Any = None) -> ReleaseContext:
        """A copy with ``spec`` in its kind's slot; for a kind with many artifacts per release it is
        added, replacing ``replacing`` (the stored version of the same artifact) if given."""
        slots = dict(self._slots)
        if kind.many:
            others = [s for s in getattr(self, kind.slot) if s is not replacing]
            slots[kind.slot] = [*others, spec]
        else:
            slots[kind.slot] = spec
        return ReleaseContext(self.version, **slots)


@dataclass(frozen=True)
class TaskMove:
    """Where a kind's artifacts move the release task: its status, and when and how it ended."""

    status: Literal["todo", "inprogress", "done", "blocked", "cancelled"]
    end_time: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class ArtifactKind:
    """Everything about one kind of artifact: its spec, where and how it lies in Engram, its tool.

    ``reads`` lists the other kinds its spec reads from the ``ReleaseContext`` when it renders,
    titles or computes (checks across artifacts are review rules, see ``tools.review``): a write
    re-renders the stored artifacts that read the kind it changed. ``key`` tells artifacts of a
    ``many`` kind apart (a migration path per breaking change); ``key_of_title`` does the same for
    one written by hand, from its Engram title.
    """

    name: str
    spec: type[SpecModel]
    entity_type: EntityType
    title_prefix: str
    tag: str | None
    link_type: str
    tool: str
    tool_title: str
    next_step: str
    slot: str
    reads: frozenset[str] = frozenset()
    many: bool = False
    accepts_task_id: bool = False
    key: Callable[[Any], str] | None = None
    # For a kind whose artifacts move the release (gate decisions): the task's state the release
    # context implies, written in the same commit as the artifact; None leaves the task as it is.
    moves_release: Callable[[ReleaseContext], TaskMove | None] | None = None

    def __post_init__(self) -> None:
        declared = _SLOTS.setdefault(self.slot, self.many)
        if declared != self.many:
            raise ValueError(f"slot {self.slot!r} is declared both with one and with many artifacts")

    @property
    def label(self) -> str:
        """The kind in words: ``rollout plan``."""
        return self.name.replace("_", " ")

    def key_of_title(self, title: str) -> str:
        return title.removeprefix(self.title_prefix).strip().casefold()
