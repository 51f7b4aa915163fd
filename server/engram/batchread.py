"""Many blobs at once through ``git cat-file --batch``, so the first index uses both cores.

The first scan of a workspace without a summary cache reads every entity blob: at 100,000 entities
about 830 MB of JSON to inflate. Through pygit2 the inflating happens on the indexing thread with the
GIL held, so it adds to the parsing instead of running beside it. A ``git cat-file --batch`` process
inflates on another core while this process parses, and hands the bytes over a pipe.

This is only a faster path, never a different answer: ``take`` gives the blob the caller asks for, or
``UNREAD``, and the caller then reads that object itself as it would without a batch. Anything
unexpected (no ``git`` on the PATH, a git that refuses the repository, a header that does not match
the request, a process that dies, a read that waits ``STALL_S``) ends the batch and leaves every later
read to the caller. git is asked to read as pygit2 does: without ``refs/replace/`` substitutes and
without fetching a partial clone's missing objects from its promisor remote.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import IO, Final

log = logging.getLogger(__name__)

# Below this many blobs the process start (a few ms) costs more than it saves.
MIN_BLOBS = 2_000
UNREAD: Final = object()  # "read this one yourself"
_PIPE_BUFFER = 1 << 20
# A read that waits this long for git ends the batch: a git on the PATH that never answers (a broken
# wrapper, a hung file system) must not hang the first scan, which holds the store's lock.
STALL_S = 10.0


class BatchReader:
    """Blobs in the order they were asked for. Not thread-safe; ``close`` ends the process."""

    def __init__(self, proc: subprocess.Popen[bytes], oids: Sequence[str]) -> None:
        self._proc = proc
        self._pending = iter(oids)
        assert proc.stdout is not None
        self._out: IO[bytes] = proc.stdout
        self._failed = False
        self._waiting_since: float | None = None  # a read from git under way since (monotonic)
        self._stop = threading.Event()
        self._writer = threading.Thread(
            target=_feed, args=(proc, oids), name="engram-store-batch-feed", daemon=True
        )
        self._writer.start()
        self._watchdog = threading.Thread(target=self._watch, name="engram-store-batch-watch", daemon=True)
        self._watchdog.start()

    @classmethod
    def start(cls, git_dir: str, oids: Sequence[str], *, min_blobs: int | None = None) -> BatchReader | None:
        """A batch reading ``oids`` (in this order) from the repository at ``git_dir``, or None when
        there are too few to gain from one or git cannot be started."""
        if len(oids) < (MIN_BLOBS if min_blobs is None else min_blobs):
            return None
        git = shutil.which("git")
        if git is None:
            return None
        # Only this repository, whatever the caller's environment says (GIT_DIR, GIT_OBJECT_DIRECTORY,
        # ...); safe.directory as the store itself opens repositories owned by another user.
        # The objects as pygit2 reads them: no refs/replace/ substitutes (libgit2 ignores them), and
        # no lazy fetch of a missing object from a partial clone's promisor remote (network, prompts).
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_NO_LAZY_FETCH"] = "1"  # git >= 2.44; protocol.allow=never stops older ones
        env["GIT_TERMINAL_PROMPT"] = "0"
        argv = [
            git,
            "--no-replace-objects",
            "--git-dir",
            git_dir,
            "-c",
            "safe.directory=*",
            "-c",
            "protocol.allow=never",
            "cat-file",
            "--batch",
            "--buffer",
        ]
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                bufsize=_PIPE_BUFFER,
                close_fds=True,
                start_new_session=True,  # its own process group: a stall kills whatever it started
            )
        except OSError as exc:
            log.info("engram store: reading blobs one by one (cannot start git cat-file: %s)", exc)
            return None
        return cls(proc, oids)

    def take(self, oid: str) -> object:
        """The next blob if it is ``oid``: its bytes, or None when git says it is missing or not a
        blob (the caller reads it itself to find out which). ``UNREAD`` once the batch has failed."""
        if self._failed:
            return UNREAD
        expected = next(self._pending, None)
        if expected != oid:
            return self._fail(f"asked for {oid}, the batch holds {expected}")
        self._waiting_since = time.monotonic()
        try:
            header = self._out.readline()
            parts = header.split()
            if len(parts) == 2 and parts[1] == b"missing" and parts[0].decode() == oid:
                return None
            if len(parts) != 3 or parts[0].decode() != oid:
                return self._fail(f"unexpected header {header[:120]!r}")
            size = int(parts[2])
            data = self._out.read(size + 1)
        except (OSError, ValueError) as exc:
            return self._fail(str(exc))
        finally:
            self._waiting_since = None
        if len(data) != size + 1 or data[-1:] != b"\n":
            return self._fail("the output ended early")
        return data[:-1] if parts[1] == b"blob" else None

    def _fail(self, why: str) -> object:
        if not self._failed:
            log.info("engram store: reading the remaining blobs one by one (git cat-file: %s)", why)
        self._failed = True
        self.close()
        return UNREAD

    def close(self) -> None:
        self._stop.set()
        self._kill()
        with contextlib.suppress(OSError, ValueError):
            self._out.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)
        self._writer.join(timeout=5)
        if self._watchdog is not threading.current_thread():
            self._watchdog.join(timeout=5)

    def _kill(self) -> None:
        """git and anything it started (a wrapper script's children hold the pipes open too)."""
        proc = self._proc
        if proc.poll() is None:  # not reaped yet: its process group id cannot have been reused
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                proc.kill()

    def _watch(self) -> None:
        """End the batch when a read has waited ``STALL_S`` for git: the blocked read then sees the
        end of the output and hands the rest back to the caller."""
        tick = min(1.0, STALL_S / 4)
        while not self._stop.wait(tick):
            since = self._waiting_since
            if since is not None and time.monotonic() - since > STALL_S:
                log.info("engram store: git cat-file answered nothing for %.0f s; ending the batch", STALL_S)
                self._kill()
                return


def _feed(proc: subprocess.Popen[bytes], oids: Sequence[str]) -> None:
    """Write the requests on their own thread: git answers while it still reads, and a pipe that
    fills both ways would otherwise stall both processes."""
    stdin = proc.stdin
    assert stdin is not None
    try:
        for start in range(0, len(oids), 4096):
            stdin.write("".join(f"{oid}\n" for oid in oids[start : start + 4096]).encode())
        stdin.close()
    except (OSError, ValueError):  # the reader gave up and killed it, or git exited early
        with contextlib.suppress(OSError, ValueError):
            stdin.close()
