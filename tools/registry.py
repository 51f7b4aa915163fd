"""The artifact kinds of a release, collected from their descriptors (``tools.base.ArtifactKind``).

Adding a kind is one new module that declares its ``KIND`` and one line in ``KINDS`` below; every
table the use cases and the MCP layer need is derived from the descriptors here.
"""

from __future__ import annotations

from typing import Any

from . import decision, migration, release_plan, rollback, rollout, runbook
from .base import ArtifactKind

# In the order of planning: the write tools are listed, and a release's artifacts shown, this way.
KINDS: tuple[ArtifactKind, ...] = (
    release_plan.KIND,
    migration.KIND,
    rollback.KIND,
    rollout.KIND,
    runbook.KIND,
    decision.KIND,
)

BY_NAME: dict[str, ArtifactKind] = {k.name: k for k in KINDS}
BY_TOOL: dict[str, ArtifactKind] = {k.tool: k for k in KINDS}
_BY_SPEC: dict[type, ArtifactKind] = {k.spec: k for k in KINDS}

# The kind that founds a release: its tool creates the release task that every other write needs.
FIRST = KINDS[0]


def kind_of_spec(spec: Any) -> ArtifactKind:
    for cls in type(spec).__mro__:
        if cls in _BY_SPEC:
            return _BY_SPEC[cls]
    raise TypeError(f"{type(spec).__name__} is not the spec of any artifact kind")


def required() -> list[ArtifactKind]:
    """The kinds every release needs (a kind with many artifacts, like migration paths, is needed
    only where the plan asks for one, which a review rule checks)."""
    return [k for k in KINDS if not k.many]
