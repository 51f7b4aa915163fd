"""The git store's persistent summary cache: restarts read only unseen blobs, and the cache cannot
mislead (it is keyed by blob id) or break a store when it is damaged."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from release_planner.server.engram.gitrefs import GitRefsStore
from release_planner.server.engram.summaries import CACHE_FILE
from release_planner.tools.ports import Change, ContextRecord, TaskRecord, new_entity_id


def _seed(path: Path) -> tuple[str, str]:
    task, ctx = new_entity_id(), new_entity_id()
    with GitRefsStore(path) as store:
        store.commit(
            [
                Change(task, TaskRecord(title="Release v1.2.3 - Cache", tags=("release",))),
                Change(ctx, ContextRecord(title="Release Plan: v1.2.3", content="plan")),
            ]
        )
    return task, ctx


def _blob_reads(store: GitRefsStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    original = store._read_blob

    def counting(oid: str) -> bytes | None:
        reads.append(oid)
        return original(oid)

    monkeypatch.setattr(store, "_read_blob", counting)
    return reads


def test_a_restart_on_an_unchanged_workspace_reads_no_entity_blob(tmp_path: Path, monkeypatch) -> None:
    task, _ctx = _seed(tmp_path)
    assert (tmp_path / ".git" / CACHE_FILE).exists()
    store = GitRefsStore(tmp_path)
    reads = _blob_reads(store, monkeypatch)
    store.warm()
    assert reads == []
    assert store.releases("task") == ["1.2.3"]
    assert store.get("task", task).title == "Release v1.2.3 - Cache"  # loaded on demand
    assert store.get("task", task).title == "Release v1.2.3 - Cache"  # and kept while in use
    assert len(reads) == 1
    store.close()


def test_an_entity_changed_by_another_writer_is_read_anew_despite_the_cache(tmp_path: Path) -> None:
    task, _ctx = _seed(tmp_path)
    with GitRefsStore(tmp_path) as other:
        other.commit([Change(task, TaskRecord(title="Release v9.9.9 - Moved"), expected_revision=1)])
    with GitRefsStore(tmp_path) as store:
        assert store.find("task", release="1.2.3") == []
        assert [e.id for e in store.find("task", release="9.9.9")] == [task]
        assert store.get("task", task).revision == 2


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"version": 1, "rows": [[1, 2], "x", null]}'])
def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path, damage: bytes) -> None:
    task, ctx = _seed(tmp_path)
    cache = tmp_path / ".git" / CACHE_FILE
    cache.write_bytes(damage)
    with GitRefsStore(tmp_path) as store:
        assert {e.id for e in store.find("context", release="1.2.3")} == {ctx}
        assert store.get("task", task) is not None
    assert cache.read_bytes() != damage


def test_a_cache_row_for_another_id_is_not_trusted(tmp_path: Path) -> None:
    task, _ctx = _seed(tmp_path)
    cache = tmp_path / ".git" / CACHE_FILE
    text = cache.read_text().replace(task, new_entity_id())
    cache.write_text(text)
    with GitRefsStore(tmp_path) as store:
        assert [e.id for e in store.find("task", release="1.2.3")] == [task]


def test_a_restart_reuses_the_cached_packed_refs_only_while_that_file_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from release_planner.server.engram import scan

    task, ctx = _seed(tmp_path)
    gone = new_entity_id()
    with GitRefsStore(tmp_path) as store:
        store.commit([Change(task, TaskRecord(title="Release v1.2.3 - Twice"), expected_revision=1)])
        store.commit([Change(gone, TaskRecord(title="Release v1.2.3 - Gone"))])
        store.commit([Change(gone, TaskRecord(title="gone"), delete=True, expected_revision=1)])
    subprocess.run(["git", "-C", str(tmp_path), "pack-refs", "--all"], check=True)
    parses: list[int] = []
    original = scan.parse_packed

    def counting(raw: bytes, types: object) -> object:
        parses.append(len(raw))
        return original(raw, types)  # type: ignore[arg-type]

    monkeypatch.setattr(scan, "parse_packed", counting)
    with GitRefsStore(tmp_path) as store:  # packed-refs changed since the cache: read, and cached anew
        store.warm()
        assert parses
    parses.clear()

    store = GitRefsStore(tmp_path)
    reads = _blob_reads(store, monkeypatch)
    store.warm()
    assert (parses, reads) == ([], [])  # neither packed-refs nor any entity blob was parsed
    assert (store.get("task", task).title, store.get("task", task).revision) == ("Release v1.2.3 - Twice", 2)
    assert store.get("context", ctx).revision == 1
    assert store.get("task", gone) is None
    assert store._index.revision("task", gone) == 1  # its sidecar stays, packed
    store.close()

    with GitRefsStore(tmp_path) as other:  # a loose ref over the packed one
        other.commit(
            [Change(ctx, ContextRecord(title="Release Plan: v1.2.4", content="moved"), expected_revision=1)]
        )
    with GitRefsStore(tmp_path) as store:
        moved = store.get("context", ctx)
        assert (moved.title, moved.revision) == ("Release Plan: v1.2.4", 2)
        assert [e.id for e in store.find("context", release="1.2.4")] == [ctx]
        assert store.find("context", release="1.2.3") == []


def test_a_copied_workspace_recognises_its_packed_refs_by_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from release_planner.server.engram import scan

    task, _ctx = _seed(tmp_path / "a")
    subprocess.run(["git", "-C", str(tmp_path / "a"), "pack-refs", "--all"], check=True)
    with GitRefsStore(tmp_path / "a") as store:
        store.warm()  # caches what the new packed-refs holds
    shutil.copytree(tmp_path / "a", tmp_path / "b", symlinks=True)  # another inode, the same bytes
    parses: list[bytes] = []
    original = scan.parse_packed
    monkeypatch.setattr(scan, "parse_packed", lambda raw, types: parses.append(raw) or original(raw, types))
    with GitRefsStore(tmp_path / "b") as store:
        assert [e.id for e in store.find("task", release="1.2.3")] == [task]
        assert parses == []
    (tmp_path / "b" / ".git" / "packed-refs").write_bytes(b"# pack-refs with: peeled fully-peeled sorted \n")
    with GitRefsStore(tmp_path / "b") as store:  # other bytes: read again, and the task is gone
        assert store.find("task", release="1.2.3") == []
        assert parses
