"""Filesystem faults injected at one precise step of a store write, without root or a full disk.

``os.open``/``os.write`` are wrapped for the duration of a ``with`` block: a file whose path matches
fails at the chosen call with the chosen errno (or is written short, as ``write(2)`` does on a disk
that fills up mid-call). Everything else passes through untouched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

Match = Callable[[str], bool]


def is_lock(path: str) -> bool:
    return path.endswith(".lock")


def is_object(path: str) -> bool:
    """A loose object (or libgit2's temporary file for one) under ``objects/``."""
    return f"{os.sep}objects{os.sep}" in path


@dataclass
class Fault:
    """Fail the ``nth`` (0-based) matching open or write with ``errno``; ``short``: write half of it
    instead and fail the next matching write, as a disk that fills up mid-call does.

    A write matches by the path of its file descriptor (``/proc/self/fd``), so files opened before the
    fault was injected (the store's journal) are covered too."""

    match: Match
    errno: int
    at: str = "write"  # "open" or "write" (os.write and os.pwrite)
    nth: int = 0
    short: bool = False
    seen: int = 0
    fired: int = 0

    def _hit(self) -> bool:
        self.seen += 1
        if self.seen - 1 != self.nth:
            return False
        self.fired += 1
        return True


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


@contextlib.contextmanager
def injected(monkeypatch: pytest.MonkeyPatch, fault: Fault) -> Iterator[Fault]:
    real_open, real_write, real_pwrite = os.open, os.write, os.pwrite

    def fake_open(path: object, flags: int, mode: int = 0o777, *args: object, **kw: object) -> int:
        text = os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else ""
        writing = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if fault.at == "open" and writing and fault.match(text) and fault._hit():
            raise OSError(fault.errno, os.strerror(fault.errno), text)
        return real_open(path, flags, mode, *args, **kw)  # type: ignore[arg-type]

    def data_for(fd: int, data: bytes) -> bytes:
        if fault.at != "write" or not fault.match(_fd_path(fd)):
            return data
        if fault._hit() and fault.short:
            return bytes(data)[: max(1, len(data) // 2)]
        if fault.fired and (not fault.short or fault.seen - 1 == fault.nth + 1):
            # A full disk stays full: after a short write, the next write into it fails outright.
            raise OSError(fault.errno, os.strerror(fault.errno))
        return data

    def fake_write(fd: int, data: bytes) -> int:
        return real_write(fd, data_for(fd, data))

    def fake_pwrite(fd: int, data: bytes, offset: int) -> int:
        return real_pwrite(fd, data_for(fd, data), offset)

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", fake_open)
        patch.setattr(os, "write", fake_write)
        patch.setattr(os, "pwrite", fake_pwrite)
        yield fault


def lock_files(git_dir: os.PathLike[str] | str) -> list[str]:
    """Every ``*.lock`` left anywhere in a git directory."""
    found = []
    for top, _dirs, files in os.walk(git_dir):
        found += [os.path.join(top, f) for f in files if f.endswith(".lock")]
    return sorted(found)


@contextlib.contextmanager
def read_only(monkeypatch: pytest.MonkeyPatch, root: os.PathLike[str] | str, number: int) -> Iterator[None]:
    """Every change under ``root`` fails with ``number`` (EROFS: a read-only mount, EACCES: no write
    permission), through ``os`` and through pygit2, as it does for a process without root."""
    import pygit2

    top = os.fspath(root)
    real_open = os.open

    def under(path: object) -> bool:
        text = os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else ""
        return os.path.abspath(text).startswith(top + os.sep) or os.path.abspath(text) == top

    def refuse(path: object = "") -> OSError:
        return OSError(number, os.strerror(number), os.fsdecode(path) if path else None)

    def fake_open(path: object, flags: int, mode: int = 0o777, *args: object, **kw: object) -> int:
        if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise refuse(path)
        return real_open(path, flags, mode, *args, **kw)  # type: ignore[arg-type]

    def one_path(real: Callable[..., object]) -> Callable[..., object]:
        def fake(path: object, *args: object, **kw: object) -> object:
            if under(path):
                raise refuse(path)
            return real(path, *args, **kw)

        return fake

    def libgit2(*_args: object, **_kw: object) -> object:
        # libgit2's own text, as pygit2 raises it: an OSError without errno.
        raise OSError(f"failed to write to the repository: {os.strerror(number)}")

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", fake_open)
        for name in ("mkdir", "rename", "replace", "unlink", "rmdir"):
            patch.setattr(os, name, one_path(getattr(os, name)))
        for name in ("create_blob", "create_commit"):
            patch.setattr(pygit2.Repository, name, libgit2)
        yield
