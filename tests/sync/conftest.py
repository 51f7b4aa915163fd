"""Sync suites: a bare repository and clones of it, driven with the real git binary."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/helpers is shared with the other suites; test directories are not packages, so put tests/ on
# the path (without it, `pytest tests/sync` run on its own cannot import sync_helpers).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
