"""``python -m release_planner.server``: the same as the ``engram-release-planner`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
