"""Listing releases, newest version first, a page at a time."""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any, Literal

from .common import semver_key
from .errors import InvalidInput
from .loading import ReleaseLoader, ReleaseState, meta, status_of
from .ports import Store
from .registry import KINDS
from .results import ReleasePage, ReleaseSummary
from .views import release_name

ReleaseStatus = Literal["todo", "inprogress", "done", "blocked", "cancelled"]


@functools.lru_cache(maxsize=65_536)
def _semver_key(version: str) -> tuple[Any, ...]:
    try:
        return (1, semver_key(version))
    except ValueError:  # a title that names no valid version sorts last
        return (0, version)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw.startswith("o:") and raw[2:].isdigit():
            return int(raw[2:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput(
        "cursor is not one this server issued",
        field="cursor",
        next_step="pass the next_cursor of the previous page, or omit cursor to start over",
    )


def summary_row(state: ReleaseState) -> ReleaseSummary:
    task = state.task
    body = (meta(task) or {}) if task is not None else {}
    stamps = [a.entity.updated_at for a in state.all()] + ([task.updated_at] if task else [])
    return ReleaseSummary(
        release=state.version,
        name=str(body.get("name") or "") or release_name(state),
        status=status_of(task),
        target_date=str(body["target_date"]) if body.get("target_date") else None,
        task_id=task.id if task else "",
        artifacts=[k.name for k in KINDS if k.name in state.artifacts],
        typed=all(meta(a.entity) is not None for a in state.all()) and (task is None or bool(body)),
        updated_at=max(stamps) if stamps else "",
    )


class ReleaseLister:
    """``list_release_plans``."""

    def __init__(self, store: Store, loader: ReleaseLoader) -> None:
        self.store = store
        self.loader = loader
        self._sorted: tuple[set[str], list[str]] = (set(), [])

    def versions(self) -> list[str]:
        """Every version some task or context names, newest first (typed metadata or skill-style title)."""
        found = set(self.store.releases("task"))
        found.update(self.store.releases("context"))
        if found != self._sorted[0]:  # sorting 10,000 versions by semver costs ~20 ms: only on change
            self._sorted = (found, sorted(found, key=_semver_key, reverse=True))
        return list(self._sorted[1])

    def list(
        self, status: ReleaseStatus | None = None, limit: int = 20, cursor: str | None = None
    ) -> ReleasePage:
        if not 1 <= limit <= 100:
            raise InvalidInput(f"limit {limit} is out of range", field="limit", valid="1 to 100")
        offset = decode_cursor(cursor)
        versions = self.versions()
        if status is not None:
            # Only the hub task is needed to filter; whole releases are loaded for the page alone.
            versions = [v for v in versions if status_of(self.loader.find_task(v)) == status]
        rows: list[ReleaseSummary] = []
        position = offset
        while position < len(versions) and len(rows) < limit:
            state = self.loader.load(versions[position], parse_specs=False)
            position += 1
            if state.task is None and not state.artifacts:
                continue  # a context titled like a release task, with nothing planned: not a release
            rows.append(summary_row(state))
        return ReleasePage(
            releases=rows,
            next_cursor=encode_cursor(position) if position < len(versions) else None,
            total=len(versions),
        )
