"""Helpers for the Engram interop tests: a workspace repository written to behind the store's back.

(Not in conftest.py: several test folders have a conftest module, so ``from conftest import`` is ambiguous.)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


class FakeClock:
    """Deterministic time: each call is one millisecond after the previous one."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def engram_blob(
    entity_type: str,
    entity_id: str,
    data: dict[str, Any],
    *,
    agent: str = "default",
    timestamp: str = "2026-03-02T09:15:00.120000000Z",
    order: tuple[str, ...] | None = None,
    type_key: str = "entity_type",
) -> bytes:
    """An envelope as engram writes it (pretty, MemoryEntity key order), computed independently."""
    canon = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    env = {
        "id": entity_id,
        type_key: entity_type,
        "agent": agent,
        "timestamp": timestamp,
        "data": data,
        "content_hash": hashlib.sha256(canon).hexdigest(),
        "size_bytes": len(canon),
        "tags": [],
        "references": [],
        "metadata": {},
    }
    if order is not None:
        env = {k: env[k] for k in order}
    return json.dumps(env, indent=2, ensure_ascii=False).encode()


class Workspace:
    """The repository under test, driven with the git CLI as a foreign writer would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], input=stdin, capture_output=True, check=True
        )
        return done.stdout.decode()

    def blob(self, content: bytes) -> str:
        return self.git("hash-object", "-w", "--stdin", stdin=content).strip()

    def put(self, ref: str, content: bytes) -> str:
        oid = self.blob(content)
        self.git("update-ref", ref, oid)
        return oid

    def cat(self, ref: str) -> bytes:
        return subprocess.run(
            ["git", "-C", str(self.path), "cat-file", "blob", ref], capture_output=True, check=True
        ).stdout

    def refs(self, prefix: str = "refs/engram/") -> list[str]:
        return self.git("for-each-ref", "--format=%(refname)", prefix).split()

    def put_entity(self, entity_type: str, entity_id: str, blob: bytes, versions: int = 1) -> None:
        self.put(f"refs/engram/{entity_type}/{entity_id}", blob)
        for n in range(1, versions + 1):
            side = {
                "agent": "default",
                "created_at": "2026-03-02T09:15:00.120000000+00:00",
                "entity_type": entity_type,
                "project_id": self.project_id(),
                "uuid": entity_id,
                "version": n,
            }
            self.put(
                f"refs/engram/{entity_type}/v{n}/{entity_id}",
                json.dumps(side, sort_keys=True, separators=(",", ":")).encode(),
            )

    def project_id(self) -> str:
        return json.loads(self.cat("refs/engram/config/workspace"))["project_id"]

    def lock_files(self) -> list[str]:
        return sorted(str(p.relative_to(self.path)) for p in (self.path / ".git").rglob("*.lock"))

    def journals(self) -> list[str]:
        d = self.path / ".git" / "engram-release-planner" / "journal"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []
