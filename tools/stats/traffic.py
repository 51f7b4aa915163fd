"""Time to sample: days and exposures until a phase reaches its planned sample, and how much is in."""

from __future__ import annotations

from .normal import _number, _positive, _whole


def days_to_reach(n_per_arm: int, *, daily_exposures: float, traffic_share: float, arms: int = 2) -> float:
    """Days until each arm has ``n_per_arm`` exposures: n·arms / (daily_exposures·traffic_share).

    ``traffic_share`` is the fraction of all daily exposures in the test (0.05 for a 5% phase),
    split equally across ``arms``. For an unequal split, such as a 5% canary compared with the other
    95%, the small arm is the bottleneck: pass arms=1 and that arm's share. This is what tells the
    planner that a 1% phase cannot reach its sample within its duration.
    """
    n = _whole("n_per_arm", n_per_arm, minimum=0)
    daily = _positive("daily_exposures", daily_exposures)
    share = _number("traffic_share", traffic_share)
    if not 0 < share <= 1:
        raise ValueError(f"traffic_share must be in (0, 1], got {share:g}")
    k = _whole("arms", arms, minimum=1)
    return n * k / (daily * share)


def exposures_still_needed(n_per_arm: int, current_per_arm: int) -> int:
    """Exposures each arm still needs to reach ``n_per_arm`` (0 once reached); feed to days_to_reach."""
    needed = _whole("n_per_arm", n_per_arm, minimum=1)
    current = _whole("current_per_arm", current_per_arm, minimum=0)
    return max(0, needed - current)


def information_fraction(current_per_arm: int, n_per_arm: int) -> float:
    """Share of the planned sample seen so far, capped at 1: the ``fraction`` of spending_function."""
    current = _whole("current_per_arm", current_per_arm, minimum=0)
    needed = _whole("n_per_arm", n_per_arm, minimum=1)
    return min(1.0, current / needed)
