"""Where ``git cat-file --batch`` would read otherwise than pygit2, and must not: replace refs, a
partial clone's promisor remote, a ``git`` that never answers, odd repositories; and a deferred cache
save racing other writers. Each of the first three read different objects or hung before its fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from test_batch_read import _git, _index, _workspace
from test_summary_cache import _answers

from release_planner.server.engram import batchread
from release_planner.server.engram.gitrefs import GitRefsStore


def _context_refs(path: Path) -> dict[str, str]:
    out = _git(path, "for-each-ref", "--format=%(refname) %(objectname)", "refs/engram/context/")
    return {
        name.rsplit("/", 1)[1]: oid
        for name, oid in (line.split() for line in out.splitlines())
        if name.count("/") == 3
    }


def test_replace_refs_do_not_change_what_the_batch_reads(tmp_path: Path, monkeypatch) -> None:
    """``git cat-file --batch`` honours refs/replace/; pygit2 (libgit2) never does."""
    _workspace(tmp_path)
    expected, _s, expected_problems = _index(tmp_path, monkeypatch, batch=False)
    refs = _context_refs(tmp_path)
    # Two readable context entities: let the blob of the first "be" the second's.
    readable = []
    for eid, oid in refs.items():
        try:
            env = json.loads(_git(tmp_path, "cat-file", "blob", oid))
        except (subprocess.CalledProcessError, ValueError):
            continue
        if isinstance(env, dict) and env.get("id") == eid:
            readable.append((eid, oid))
    (_a, a_oid), (_b, b_oid) = readable[:2]
    _git(tmp_path, "replace", a_oid, b_oid)
    batched, _s, problems = _index(tmp_path, monkeypatch, batch=True)
    assert problems == expected_problems  # the batch read <a> as the replacement
    assert batched == expected


def _unresponsive_server() -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    return srv, srv.getsockname()[1]


def test_a_missing_blob_in_a_partial_clone_does_not_hang_the_first_scan(tmp_path: Path, monkeypatch) -> None:
    """A ``git clone --filter=...`` repository (remote.<name>.promisor=true) opens in pygit2; there a
    missing object makes ``git cat-file`` fetch it from the promisor remote, which may never answer."""
    broken = _workspace(tmp_path)
    srv, port = _unresponsive_server()
    _git(tmp_path, "config", "remote.origin.url", f"git://127.0.0.1:{port}/repo")
    _git(tmp_path, "config", "remote.origin.promisor", "true")
    assert broken["missing"]
    monkeypatch.setattr(batchread, "MIN_BLOBS", 0)
    store = GitRefsStore(tmp_path)
    done = threading.Event()
    t = threading.Thread(target=lambda: (store.warm(), done.set()), daemon=True)
    t.start()
    monkeypatch.setattr(batchread, "STALL_S", 60.0)  # not the watchdog: no fetch is tried at all
    try:
        assert done.wait(20), "the first scan hangs on the promisor remote"
    finally:
        srv.close()  # git's fetch fails now and the scan ends
        t.join(30)
        store.close()


@pytest.mark.parametrize("script", ["exec sleep 3600", "sleep 3600", "cat >/dev/null; sleep 3600"])
def test_a_git_that_never_answers_does_not_hang_the_first_scan(tmp_path: Path, monkeypatch, script) -> None:
    _workspace(tmp_path)
    expected, _s, _p = _index(tmp_path, monkeypatch, batch=False)
    monkeypatch.setattr(batchread, "STALL_S", 2.0)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").write_text(f"#!/bin/sh\n{script}\n")
    (bindir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(batchread, "MIN_BLOBS", 0)
    store = GitRefsStore(tmp_path)
    done = threading.Event()
    t = threading.Thread(target=lambda: (store.warm(), done.set()), daemon=True)
    t.start()
    hung = not done.wait(20)
    if hung:  # release it: kill the stuck "git" (our own child, by its pid)
        batch = store._scan._batch
        if batch is not None:
            batch._proc.kill()
        t.join(10)
    else:
        answers = _answers(store)
    store.close()
    assert not hung, "the first scan waits forever on a git that never answers"
    assert answers == expected


def test_a_missing_blob_in_a_partial_clone_is_reported_as_blob_by_blob_reading_does(
    tmp_path: Path, monkeypatch
) -> None:
    """With a promisor remote that answers, the batch fetches the object over the network (and
    writes a pack into the workspace) where pygit2 reports the ref as missing."""
    ws = tmp_path / "ws"
    _workspace(ws)
    _git(tmp_path, "clone", "-q", "--mirror", str(ws), str(tmp_path / "origin"))
    loose = [
        (eid, oid)
        for eid, oid in _context_refs(ws).items()
        if (ws / ".git" / "objects" / oid[:2] / oid[2:]).exists()
        and _git(ws, "cat-file", "blob", oid).startswith("{\n")  # an entity, not the junk blob
    ]
    eid, oid = loose[0]
    _git(tmp_path / "origin", "update-ref", "refs/keep", oid)
    (ws / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
    _git(ws, "config", "remote.origin.url", f"file://{tmp_path / 'origin'}")
    _git(ws, "config", "remote.origin.promisor", "true")
    expected, _s, expected_problems = _index(ws, monkeypatch, batch=False)
    assert f"refs/engram/context/{eid}" in expected_problems
    batched, _s, problems = _index(ws, monkeypatch, batch=True)
    assert problems == expected_problems  # the batch had fetched it from the promisor
    assert batched == expected


def _rewrite_context(ws: Path, mutate) -> None:
    refs = _context_refs(ws)
    for eid, oid in refs.items():
        try:
            raw = _git(ws, "cat-file", "blob", oid)
        except subprocess.CalledProcessError:
            continue
        if not raw.startswith("{\n"):
            continue
        env = json.loads(raw)
        mutate(env)
        new = _git(ws, "hash-object", "-w", "--stdin", data=json.dumps(env, indent=2).encode()).strip()
        _git(ws, "update-ref", f"refs/engram/context/{eid}", new, oid)
        return


@pytest.mark.parametrize("setup", ["alternates", "headers", "gitdir-env"])
def test_odd_repositories_answer_alike(tmp_path: Path, monkeypatch, setup: str) -> None:
    ws = tmp_path / "ws"
    if setup == "alternates":
        _workspace(tmp_path / "base")
        _git(tmp_path, "clone", "-q", "--shared", "--mirror", str(tmp_path / "base"), str(ws / ".git"))
        _git(ws / ".git", "config", "core.bare", "false")
    else:
        _workspace(ws)
    if setup == "headers":
        oid = _context_refs(ws)[next(iter(_context_refs(ws)))]
        fake = f"\n{oid} blob 3\nabc\n{oid} missing\n" * 50
        _rewrite_context(ws, lambda env: env["data"].__setitem__("title", fake))
        junk = _git(ws, "hash-object", "-w", "--stdin", data=(fake + "\n").encode() * 3).strip()
        (ws / ".git" / "refs" / "engram" / "context" / "0b7c1c52-7d0a-4c1e-9e51-0d3a1c2b3f40").write_text(
            junk + "\n"
        )
    if setup == "gitdir-env":
        other = tmp_path / "other"
        _workspace(other)
        monkeypatch.setenv("GIT_DIR", str(other / ".git"))
        monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other / ".git" / "objects"))
        monkeypatch.setenv("GIT_ALTERNATE_OBJECT_DIRECTORIES", str(other / ".git" / "objects"))
    expected, _s, expected_problems = _index(ws, monkeypatch, batch=False)
    batched, single, problems = _index(ws, monkeypatch, batch=True)
    assert problems == expected_problems
    assert batched == expected
    assert len(single) <= 3, single


def test_a_restart_after_a_deferred_save_racing_other_writers_answers_as_a_cold_read(
    tmp_path: Path, monkeypatch
) -> None:
    from release_planner.server.engram import gitrefs
    from release_planner.server.engram.summaries import CACHE_FILE
    from release_planner.tools.ports import Change, ContextRecord, TaskRecord, new_entity_id

    _workspace(tmp_path)
    monkeypatch.setattr(gitrefs, "CACHE_SAVE_DELAY_S", 0.0)
    monkeypatch.setattr(batchread, "MIN_BLOBS", 0)
    cache = tmp_path / ".git" / CACHE_FILE
    for round_ in range(2):
        cache.unlink(missing_ok=True)
        store = GitRefsStore(tmp_path)
        real_write = store._summaries.write

        def racing_write(rows, packed, _n=round_, real_write=real_write):
            other = GitRefsStore(tmp_path)
            ids = [e.id for e in other.find("context")][:2]
            other.commit([Change(new_entity_id(), TaskRecord(title=f"Release v9.{_n}.0 - Race"))])
            if ids:
                other.commit(
                    [
                        Change(
                            ids[0],
                            ContextRecord(title=f"Release Plan: v9.{_n}.1", content="x"),
                            expected_revision=other.get("context", ids[0]).revision,
                        )
                    ]
                )
            other.close()
            _git(tmp_path, "pack-refs", "--all")
            return real_write(rows, packed)

        store._summaries.write = racing_write  # type: ignore[method-assign]
        store.warm()
        store.commit(
            [Change(new_entity_id(), ContextRecord(title=f"Release Plan: v8.{round_}.0", content="y"))]
        )
        time.sleep(0.3)
        store.find("task")
        store.close()
        with GitRefsStore(tmp_path) as restarted:
            warm_answers = _answers(restarted)
            warm_problems = [p.ref for p in restarted.problems()]
        cache.unlink()
        with GitRefsStore(tmp_path) as cold:
            cold_answers = _answers(cold)
            cold_problems = [p.ref for p in cold.problems()]
        assert warm_answers == cold_answers
        assert warm_problems == cold_problems
