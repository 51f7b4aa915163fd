"""Names that one artifact uses for what another names: flags, metrics, features.

Two artifacts written at different times spell the same thing differently (``errorRate``,
``error-rate``, ``Error Rate``); some of those differences are harmless, some are typos that leave a
flag nobody turns off. ``key`` is the spelling-blind form names are compared in, ``closest`` the
near miss worth suggesting, and ``mentions`` whether a piece of prose names something. Standard
library only; imports no artifact kind, so the kinds' own checks and the review can both use it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD_RE = re.compile(r"[^\W_]+")
# Unit words a metric name may end with: ``latency_p99_ms`` and ``latency_p99`` name one metric
# (the unit is a field of its own, compared after conversion).
_UNIT_TOKENS = frozenset({"ms", "msec", "millis", "sec", "secs", "seconds", "pct", "percent", "ratio"})
# How alike two keys must be for one to be suggested as the other (difflib's ratio).
NEAR_MISS = 0.8


def tokens(name: str) -> list[str]:
    """The words of ``name``, casefolded: camelCase, spaces and ``-``/``_``/``.`` all split words."""
    return [w.casefold() for w in _WORD_RE.findall(_CAMEL_RE.sub(" ", str(name)))]


def key(name: str) -> str:
    """The spelling-blind form of a name: ``enable-Payment.flow`` -> ``enable_payment_flow``."""
    return "_".join(tokens(name))


def metric_key(name: str) -> str:
    """A metric's key, ignoring a trailing unit word (``latency_p99_ms`` -> ``latency_p99``)."""
    words = tokens(name)
    while len(words) > 1 and words[-1] in _UNIT_TOKENS:
        words.pop()
    return "_".join(words)


def closest(name: str, candidates: Iterable[str], *, keyed: Callable[[str], str] = key) -> str | None:
    """The candidate ``name`` most likely meant, or None when none is close.

    A candidate with the same key (another spelling), the same words in another order, or a key at
    least ``NEAR_MISS`` alike is close; the most alike wins, ties going to the first listed.
    """
    want = keyed(name)
    best: tuple[float, str] | None = None
    for cand in candidates:
        have = keyed(cand)
        if have == want or sorted(have.split("_")) == sorted(want.split("_")):
            score = 2.0
        else:
            score = difflib.SequenceMatcher(None, want, have).ratio()
            if score < NEAR_MISS:
                continue
        if best is None or score > best[0]:
            best = (score, cand)
    return best[1] if best else None


def _stem(word: str) -> str:
    # A plain plural is the same word for matching prose ("payments" mentions "payment").
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` names ``name``: all of its words appear in it, whatever the spelling."""
    want = {_stem(w) for w in tokens(name)}
    return bool(want) and want <= {_stem(w) for w in tokens(text)}
