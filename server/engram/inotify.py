"""Which ref files changed: Linux inotify through ctypes, for ``GitRefsStore``'s index."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import struct
from typing import Any

# --- change notification ----------------------------------------------------------------------------

IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000
IN_ISDIR = 0x40000000
_WATCH_MASK = (
    IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
_EVENT = struct.Struct("iIII")

WatchKey = tuple[Any, ...]


class Inotify:
    """Linux inotify through ctypes: which names changed in the watched directories."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._add_watch = libc.inotify_add_watch
        self._add_watch.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self._add_watch.restype = ctypes.c_int
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.fd: int | None = fd
        self._keys: dict[int, WatchKey] = {}
        self._wds: dict[WatchKey, int] = {}

    def watch(self, path: str, key: WatchKey) -> bool:
        """Watch a directory; False if it does not exist. Raises OSError when out of watches."""
        assert self.fd is not None
        wd = self._add_watch(self.fd, os.fsencode(path), _WATCH_MASK)
        if wd < 0:
            err = ctypes.get_errno()
            if err in (errno.ENOENT, errno.ENOTDIR):
                return False
            raise OSError(err, f"inotify_add_watch {path}: {os.strerror(err)}")
        self._keys[wd] = key
        self._wds[key] = wd
        return True

    def watching(self, key: WatchKey) -> bool:
        return key in self._wds

    def read(self) -> list[tuple[WatchKey | None, int, str]]:
        events: list[tuple[WatchKey | None, int, str]] = []
        while self.fd is not None:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(buf):
                wd, mask, _cookie, length = _EVENT.unpack_from(buf, offset)
                offset += _EVENT.size
                name = os.fsdecode(buf[offset : offset + length].split(b"\0", 1)[0])
                offset += length
                key = self._keys.get(wd)
                if mask & IN_IGNORED:
                    self._keys.pop(wd, None)
                    if key is not None and self._wds.get(key) == wd:
                        del self._wds[key]
                events.append((key, mask, name))
        return events

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            self.close()
