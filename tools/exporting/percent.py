"""Shares as engines take them: whole percent for Unleash, Argo Rollouts and Flagger."""

from __future__ import annotations

import math

from .model import Warnings


def whole_percent(percent: float, *, engine: str, where: str, name: str, warn: Warnings) -> int:
    """The phase's share rounded to a whole percent (half up), with a warning if it moved: never to 0,
    and never to 100 for a phase below 100%, which would leave nobody on the old version."""
    value = max(1, min(100 if percent >= 100 else 99, math.floor(percent + 0.5)))
    if value != percent:
        warn.add(
            "export_percent_rounded",
            where,
            f"{engine} takes whole percentages; phase '{name}' at {percent:g}% is exported as {value}%. "
            "Plan whole percentages, or use LaunchDarkly or flagd (0.001% steps)",
        )
    return value
