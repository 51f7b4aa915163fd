"""Statistics behind phased-rollout gates (release-domain §4): sample sizes, detectable effects, alpha
spending across looks, the sample-ratio-mismatch test and effect intervals.

The planner runs these at request time, so the package uses only the standard library
(``statistics.NormalDist`` and ``math``); scipy and statsmodels are used only by the tests, which check
every figure against them and against published worked examples.

Conventions, because a wrong unit silently changes a sample size by orders of magnitude:

* Proportions are fractions: 0.031 is a 3.1% conversion rate, and an effect or margin of 0.01 is one
  percentage point. A gate margin written in percentage points (``Gate.margin = 1.0``) must be divided
  by 100 before it is passed here.
* Differences are treatment minus control. ``ratio`` is treatment size / control size, and every
  sample size is the size of the control arm (the treatment arm needs ``ratio`` times as many).
* ``sides`` is 2 for a two-sided test at level ``alpha`` and 1 for a one-sided test. Non-inferiority
  tests are always one-sided, as the gate's ``alpha`` is.
* All figures use the normal approximation (z, not t). That is accurate at the thousands of exposures
  a rollout gate needs and understates n by only about z²/4 per arm when n is a few dozen.

Every function is pure and raises ``ValueError`` naming the bad parameter and its valid range.

Submodules by responsibility: :mod:`.normal` (parameter validation and normal quantiles, shared by the
rest), :mod:`.sample_size` (sample sizes and minimum detectable effects), :mod:`.sequential` (alpha
spending across looks), :mod:`.srm` (chi-square survival function and the sample-ratio-mismatch test),
:mod:`.effects` (effect estimates with confidence intervals) and :mod:`.traffic` (days and exposures
to reach a sample).
"""

from __future__ import annotations

from .effects import Effect, difference_of_means, difference_of_proportions
from .sample_size import (
    minimum_detectable_effect_means,
    minimum_detectable_effect_proportions,
    sample_size_means,
    sample_size_non_inferiority_means,
    sample_size_non_inferiority_proportions,
    sample_size_proportions,
)
from .sequential import SpendingMethod, alpha_at_look, alpha_spent, confidence_sequence_z, spending_function
from .srm import SRM_P_THRESHOLD, chi2_sf, srm_test
from .traffic import days_to_reach, exposures_still_needed, information_fraction

__all__ = [
    "SRM_P_THRESHOLD",
    "Effect",
    "SpendingMethod",
    "alpha_at_look",
    "alpha_spent",
    "chi2_sf",
    "confidence_sequence_z",
    "days_to_reach",
    "difference_of_means",
    "difference_of_proportions",
    "exposures_still_needed",
    "information_fraction",
    "minimum_detectable_effect_means",
    "minimum_detectable_effect_proportions",
    "sample_size_means",
    "sample_size_non_inferiority_means",
    "sample_size_non_inferiority_proportions",
    "sample_size_proportions",
    "spending_function",
    "srm_test",
]
