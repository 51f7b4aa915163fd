"""What sync and repair remember between runs, in small JSON maps under ``.git/engram-release-planner/``.

* ``sync/<remote>.json``: the retirements the last sync with that remote left on both sides
  (``"type/id" -> top sidecar blob``). Engram's delete adds no revision, so this is how sync tells a
  release planned again after its retirement (taken) from an edit made without seeing it (a conflict).
* ``lost.json``: entity refs ``repair`` removed because their content was lost here
  (``"type/id" -> the revision number they were at``). Such a removal is no retirement: the next sync
  takes the team's copy back instead of pushing the removal to everyone.

A map is replaced whole (a temporary file, flushed, renamed): a crash leaves the old one or the new one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable

from .refs import RefUpdate

__all__ = ["agreed_path", "forget_lost", "load", "lost_entities", "lost_path", "note_lost", "save"]

_DIR = "engram-release-planner"


def agreed_path(common_dir: str, remote: str) -> str:
    return os.path.join(common_dir, _DIR, "sync", f"{remote}.json")


def lost_path(common_dir: str) -> str:
    return os.path.join(common_dir, _DIR, "lost.json")


def load(path: str) -> dict[str, str]:
    """The map at ``path``; empty when there is none (or it is unreadable)."""
    try:
        with open(path, encoding="utf-8") as f:
            loaded = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, str)}


def save(path: str, mapping: dict[str, str]) -> None:
    """Replace the map at ``path`` whole; raises ``OSError`` having changed nothing."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(mapping, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def note_lost(common_dir: str, entries: dict[str, str]) -> None:
    if entries:
        path = lost_path(common_dir)
        save(path, load(path) | entries)


def forget_lost(common_dir: str, handled: dict[str, str]) -> None:
    """Drop the entries a sync has dealt with (an entry recorded meanwhile, or changed, stays)."""
    path = lost_path(common_dir)
    now = load(path)
    kept = {k: v for k, v in now.items() if handled.get(k) != v}
    if kept != now:
        save(path, kept)


def lost_entities(
    updates: Iterable[RefUpdate],
    split: Callable[[str], tuple[str, str, int] | None],
    revision: Callable[[str, str], int],
) -> dict[str, str]:
    """``"type/id" -> revision`` of the entity refs (not sidecars) that ``updates`` remove."""
    out = {}
    for u in updates:
        where = split(u.name) if u.new is None else None
        if where is not None and where[2] == 0:
            out[f"{where[0]}/{where[1]}"] = str(revision(where[0], where[1]))
    return out
