"""Reading whole releases: the release view, the stakeholder summary and the resources' documents.

What a read reports is the same review a write runs: each artifact's own checks plus every rule of
the whole-release review, once. Parsing and rendering depend only on entity revisions, so the
findings and the Markdown are cached by the exact stored state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import review
from .errors import NotFound
from .loading import LRU, RELEASE_KIND, ReleaseLoader, ReleaseState, meta, status_of
from .markdown import escape_html
from .ports import LinkRecord
from .results import ArtifactRef, Notice, ReleaseView, StakeholderSummary
from .rollout import KIND as ROLLOUT
from .summary import stakeholder_summary
from .tracking import status_line
from .views import link_ref, release_name, target_date, trim

_MISSING = object()


def _plan_steps(state: ReleaseState) -> list[str]:
    return [f"plan the {k.label} with {k.tool}" for k in state.missing()]


class ReleaseReader:
    """``get_release_plan``, ``summarize_release`` and the ``release://`` resources."""

    def __init__(self, loader: ReleaseLoader, max_markdown_chars: int) -> None:
        self.loader = loader
        self.max_markdown_chars = max_markdown_chars
        self._derived = LRU(256)

    def _derive(self, state: ReleaseState, what: str, compute: Callable[[], Any]) -> Any:
        key = (what, state.key())
        value = self._derived.get(key, _MISSING)
        if value is _MISSING:
            value = compute()
            self._derived.put(key, value)
        return value

    def findings(self, state: ReleaseState) -> list[Notice]:
        return list(self._derive(state, "findings", lambda: self._compute_findings(state)))

    @staticmethod
    def _compute_findings(state: ReleaseState) -> list[Notice]:
        ctx = state.context()
        said = list(state.notices)
        found = [
            f.model_copy(update={"kind": art.kind.name})
            for art in state.all()
            if art.spec is not None
            for f in art.spec.check(ctx)
        ]
        found += [item.finding for item in review.review(ctx)]
        said += [Notice(code=f.code, message=review.qualified(f), field=f.field) for f in found]
        linked = {link.record.target_id for link in state.links if isinstance(link.record, LinkRecord)}
        for art in state.all():
            if art.entity.id not in linked:
                said.append(
                    Notice(
                        code="artifact_not_linked",
                        message=f"{art.entity.title} is not linked from the release task; "
                        "call link_release_entities",
                    )
                )
        return said

    def full_markdown(self, state: ReleaseState) -> str:
        return str(self._derive(state, "markdown", lambda: self._compute_markdown(state)))

    @staticmethod
    def _compute_markdown(state: ReleaseState) -> str:
        ctx = state.context()
        task = state.task
        name = release_name(state)
        parts = [f"# Release v{state.version}" + (f" - {name}" if name else "")]
        if task is not None:
            parts.append(f"Engram task `{task.id}` (status: {status_of(task)}).")
        progress = status_line(ctx)
        if progress:
            parts.append(progress)
        for art in state.all():
            body = art.spec.render(ctx) if art.spec is not None else art.stored_markdown()
            suffix = "" if art.typed else " (untyped: written by hand, shown as stored)"
            parts.append(f"---\n\n# {art.entity.title}{suffix}\n\n{body.strip()}")
        missing = state.missing()
        if missing:
            parts.append("---\n\nNot planned yet: " + ", ".join(k.label for k in missing) + ".")
        # Names and titles come from the user, and an untyped artifact's Markdown from whoever wrote it.
        return escape_html("\n\n".join(parts) + "\n")

    def get_release_plan(self, version: str) -> ReleaseView:
        state = self.loader.read(version)
        markdown, truncated = trim(self.full_markdown(state), state.version, self.max_markdown_chars)
        steps = _plan_steps(state)
        if not steps:
            steps.append("call summarize_release for the stakeholder summary")
        task = state.task
        hub = (
            [
                ArtifactRef(
                    kind=RELEASE_KIND,
                    entity_type="task",
                    entity_id=task.id,
                    title=task.title,
                    revision=task.revision,
                    typed=meta(task) is not None,
                    updated_at=task.updated_at,
                )
            ]
            if task is not None
            else []
        )
        return ReleaseView(
            release=state.version,
            name=release_name(state),
            status=status_of(task),
            target_date=target_date(state),
            task_id=task.id if task is not None else "",
            typed=state.is_typed(),
            artifacts=hub + [a.ref() for a in state.all()],
            links=[link_ref(link) for link in state.links],
            missing=[k.name for k in state.missing()],
            markdown=markdown,
            markdown_truncated=truncated,
            resource_uri=f"release://{state.version}",
            warnings=self.findings(state),
            next_steps=steps,
        )

    def summarize_release(self, version: str) -> StakeholderSummary:
        state = self.loader.read(version)
        warnings = self.findings(state)
        summary, facts = stakeholder_summary(
            state.version,
            state.context(),
            [k.name for k in state.missing()],
            [a for a in state.all() if not a.typed],
            warnings,
        )
        progress = status_line(state.context())
        if progress:
            summary = f"{summary} {progress}"
            facts["progress"] = progress
        steps = _plan_steps(state)
        if warnings:
            steps.append("review the warnings with get_release_plan before go-live")
        return StakeholderSummary(
            release=state.version, summary=summary, facts=facts, warnings=warnings, next_steps=steps
        )

    def release_markdown(self, version: str) -> str:
        return self.full_markdown(self.loader.read(version))

    def release_json(self, version: str) -> dict[str, Any]:
        state = self.loader.read(version)
        ctx = state.context()
        task = state.task
        return {
            "release": state.version,
            "name": release_name(state),
            "task": None
            if task is None
            else {
                "id": task.id,
                "title": task.title,
                "revision": task.revision,
                "status": getattr(task.record, "status", None),
            },
            "artifacts": [
                {
                    **a.ref().model_dump(),
                    "spec": a.spec.model_dump(mode="json") if a.spec is not None else None,
                    "computed": a.spec.computed(ctx) if a.spec is not None else None,
                    "markdown": None if a.typed else a.stored_markdown(),
                }
                for a in state.all()
            ],
            "links": [link_ref(link).model_dump() for link in state.links],
            "warnings": [n.model_dump() for n in self.findings(state)],
        }

    def release_timeline(self, version: str) -> str:
        state = self.loader.read(version)
        rollout = state.one(ROLLOUT.name)
        if rollout is None or rollout.spec is None:
            raise NotFound(
                f"release {state.version} has no typed rollout plan",
                field="version",
                next_step=f"call {ROLLOUT.tool} first",
            )
        return str(rollout.spec.gantt(state.context()))
