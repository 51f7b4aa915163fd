"""What a go-criterion written in words claims about statistics (release-domain §4).

Two readings matter to a gate:

* :func:`passes_on_no_difference`: the criterion goes ahead because a test found *no* difference
  ("no statistically significant increase in errors", "not significantly worse", "difference not
  significant", "p > 0.05", "no detectable regression", "metrics flat", "parity with control"). Absence
  of evidence is not evidence of safety; such a rule is sound only as a non-inferiority or equivalence
  test with a margin, so a criterion that states one ("upper bound of the CI below 0.5 pp",
  "non-inferior within 1%", "TOST with ±0.5 pp bounds") is never flagged, nor is a sample-ratio check.
* :func:`significance_look`: the criterion tests for significance at a fixed level ("p < 0.05",
  "statistically significant"), one look that spends that alpha, unless it names a correction or an
  anytime-valid test; :func:`every_phase` says it claims that look at every phase.

The text is normalised first (case, Unicode signs, contractions, "non-significant"), then read clause
by clause, so a negation in one clause ("no critical bugs, significant lift") never meets a
significance word in another. Plain words stay plain: "no critical bugs", "no user complaints",
"neutral beta feedback", "feature parity", "infrastructure stable" are not statistical claims.
"""

from __future__ import annotations

import re

_REPLACEMENTS = (
    (re.compile(r"[\u2010-\u2015\u2212]"), "-"),
    (re.compile(r"\u2264|=<"), "<="),
    (re.compile(r"\u2265|=>"), ">="),
    (re.compile(r"\uff1c"), "<"),
    (re.compile(r"\uff1e"), ">"),
    (re.compile(r"[\u2018\u2019`]"), "'"),
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"\bp[\s-]*values?\b"), "p"),
    (re.compile(r"\bstat[\s-]*sig(?:nificant|nificance)?\b|\bstatsig\b"), "statistically significant"),
    (re.compile(r"\b(?:non|in)[\s-]?significan(t(?:ly)?|ce)\b"), r"not significan\1"),
    (
        re.compile(r"\bun(detect(?:able|ed)|measur(?:able|ed)|observ(?:able|ed)|notice(?:able|d))\b"),
        r"not \1",
    ),
    (re.compile(r"\bimmeasurabl[ey]\b"), "not measurable"),
    (re.compile(r"\bnon[\s-]+(inferior(?:ity)?)\b"), r"non\1"),
    (re.compile(r"\ba\s*/\s*b\b|\bab[\s-]+test"), "abtest"),
)
# Clause boundaries: punctuation (not the point or comma inside a number) and joining words.
# A parenthesis stays in its clause: it usually qualifies it ("no increase (> 10%)").
_CLAUSES = re.compile(r"[;:!?]|\.(?!\d)|,(?!\d{3})|\b(?:and|or|but|while|whereas|with|then|plus)\b")

_NEGATION = re.compile(
    r"\b(?:no|not|none|never|without|zero|nothing|neither|nor|lack|lacks|absence|absent|unless|"
    r"fail|fails|failed|failing|insufficient)\b"
)
# Words that make a negated clause a claim about a statistical test.
_SIGNIFICANCE = re.compile(r"\bsignifican(?:t|tly|ce)\b")
_STATISTICAL = re.compile(r"\bsignificance\b|\bstatistical(?:ly)?\b|\bp\s*(?:<|>|=)")
_DETECTION = re.compile(
    r"\b(?:detect(?:able|ed)?|measur(?:able|ably|ed)|noticeabl[ey]|observ(?:able|ed)|discernibl[ey]|"
    r"meaningful(?:ly)?|material(?:ly)?|appreciabl[ey])\b"
)
_CHANGE = re.compile(
    r"\b(?:differ(?:ence|ences|ent|ently|s)?|diff|chang(?:e|es|ed)|drops?|dropped|decreas(?:e|es|ed)|"
    r"declin(?:e|es|ed)|increas(?:e|es|ed)|rise|rises|rose|regress(?:ion|ions|ed|es)?|degrad(?:ation|ed|es)?|"
    r"deteriorat(?:ion|ed|es)|worse(?:ning)?|lift|delta|effect|impact|movement|moved|shifts?|deviat(?:ion|ed|es)|"
    r"spikes?|dips?|harm|uptick|downtick)\b"
)
# Words that say the clause compares the release with something: a test, a control, metrics.
_COMPARISON = re.compile(
    r"\b(?:abtest|experiment|split test|baseline|variants?|treatment|holdout|metrics?|kpis?|"
    r"vs|versus|compared|relative to|old version|previous version)\b"
    r"|\b(?:than|vs|versus|against|to|with|from|over|the)\s+control\b|\bcontrol\s+(?:group|arm|cohort)s?\b"
)
# Equivalence words that claim "the same" without any bound.
_SAME = re.compile(
    r"\b(?:flat|parity|on par|unchanged|unaffected|neutral|indistinguishable|in line with|same as|"
    r"comparable to|similar to)\b"
)
# "the same as the control", read before clauses split at "with".
_SAME_AS_CONTROL = re.compile(
    r"\b(?:parity|on par|in line|level|flat|unchanged|comparable|similar|indistinguishable|equal)\s+"
    r"(?:with|to|against|vs|versus|from)\s+(?:the\s+)?"
    r"(?:control|baseline|holdout|old version|previous version)\b"
)
_NOT_STATISTICAL_PARITY = re.compile(r"\b(?:feature|functional|api|ui|data|config(?:uration)?)\s+parity\b")
_INCONCLUSIVE = re.compile(r"\binconclusive\b")
# A p-value above a threshold as a pass condition ("p > 0.05", "p at least 0.1", "p not below 5%").
_P_ABOVE = re.compile(
    r"\bp\s*(?:is\s+|remains\s+|stays\s+|of\s+)?"
    r"(?:>=?|above|over|greater than|higher than|exceeds?|exceeding|at least|not below|not under|"
    r"not less than|no less than)\s*(?:0?\.\d+|\d+(?:\.\d+)?\s*%)"
)
_P_BELOW = re.compile(r"\bp\s*(?:is\s+)?(?:<=?|below|under|less than)\s*(0?\.\d+|\d+(?:\.\d+)?\s*%)")

# A stated non-inferiority or equivalence test: its words, or a bound with a quantity.
_QUANTITY = (
    r"[±+-]?\s*\d+(?:\.\d+)?\s*(?:pp\b|percentage points?|points?\b|%|percent\b|bps\b|basis points?|ms\b)"
)
_MARGIN_STATED = re.compile(
    r"\bnoninferior(?:ity)?\b|\bequivalen(?:ce|t)\s+(?:test|margin|bound|bounds|range|limit)s?\b|\btost\b|"
    r"two one-sided|\bmargins?\b|\b(?:upper|lower|one-sided|confidence)\s+(?:bound|limit)s?\b|"
    r"\b(?:ci|confidence interval)\b[^;]*?(?:below|under|<|within|above|>)\s*" + _QUANTITY + "|"
    r"\bby more than\s*" + _QUANTITY
)
# A quantity in a clause bounds the change ("no increase beyond 0.1 pp", "within 10% of baseline"),
# unless it is the test's level or confidence ("at the 5% level", "95% CI").
_BOUND = re.compile(_QUANTITY)
_LEVEL_AFTER = re.compile(r"\s*(?:level|significance|confidence|ci|power|two-sided|one-sided)\b")
_LEVEL_BEFORE = re.compile(r"(?:\bat(?:\s+the)?|\balpha\s*=?|α\s*=?|\bp\s*(?:<=?|>=?|=))\s*$")
# Sample-ratio checks pass on "no significant mismatch" by design; they guard data, not safety.
_DATA_QUALITY = re.compile(
    r"\bsrm\b|sample[\s-]ratio|ratio mismatch|traffic split|allocation|assignment ratio|imbalance"
)
# Corrections and anytime-valid tests that make repeated looks sound.
_CORRECTED = re.compile(
    r"sequential|always[\s-]valid|anytime|msprt|o'?brien|fleming|pocock|bonferroni|holm|spending|"
    r"corrected|adjusted|confidence sequence"
)
_EVERY_PHASE = re.compile(
    r"\b(?:every|each|all|per|at any)\s+(?:phases?|stages?|steps?|looks?|gates?|checkpoints?)\b"
)


def normalise(text: str) -> str:
    out = text.casefold()
    for pattern, replacement in _REPLACEMENTS:
        out = pattern.sub(replacement, out)
    return " ".join(out.split())


def clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSES.split(normalise(text)) if c and c.strip()]


def states_margin(text: str) -> bool:
    """The criterion states a non-inferiority or equivalence test, or a bound on the difference."""
    return bool(_MARGIN_STATED.search(normalise(text)))


def passes_on_no_difference(text: str, *, compared: bool = False) -> bool:
    """The criterion treats the absence of a significant difference as a pass.

    ``compared`` says the phase has a comparison of its own (a gate without a margin), which lets
    "neutral" or "flat" read as a test result even when the text names no control.
    """
    whole = normalise(text)
    if _MARGIN_STATED.search(whole) or _DATA_QUALITY.search(whole):
        return False
    if _P_ABOVE.search(whole) or _INCONCLUSIVE.search(whole) or _SAME_AS_CONTROL.search(whole):
        return True
    return any(_clause_passes_on_nothing(c, compared) for c in clauses(text))


def _bounds_the_change(clause: str) -> bool:
    for match in _BOUND.finditer(clause):
        before, after = clause[: match.start()], clause[match.end() :]
        if not _LEVEL_AFTER.match(after) and not _LEVEL_BEFORE.search(before):
            return True
    return False


def _clause_passes_on_nothing(clause: str, compared: bool) -> bool:
    if _bounds_the_change(clause):
        return False
    named = bool(_COMPARISON.search(clause) or _STATISTICAL.search(clause))
    negation = _NEGATION.search(clause)
    if negation:
        after = clause[negation.start() :]
        change = bool(_CHANGE.search(clause))
        if _STATISTICAL.search(after) or _P_BELOW.search(after):
            return True
        if (_SIGNIFICANCE.search(after) or _DETECTION.search(after)) and change:
            return True
        if _SIGNIFICANCE.search(after) and named:
            return True
        if change and named:
            return True
    if _SAME.search(clause) and not _NOT_STATISTICAL_PARITY.search(clause):
        return named or compared
    return False


def significance_look(text: str) -> float | None:
    """The alpha a criterion tests significance at ("p < 0.01" gives 0.01, "significant" 0.05), or None.

    None also when it names a correction or an anytime-valid test, or only reads "no significant ...".
    """
    whole = normalise(text)
    if _CORRECTED.search(whole) or _DATA_QUALITY.search(whole):
        return None
    for clause in clauses(text):
        if _NEGATION.search(clause):
            continue
        below = _P_BELOW.search(clause)
        if below:
            return _level(below.group(1))
        if _STATISTICAL.search(clause) and _SIGNIFICANCE.search(clause):
            return 0.05
    return None


def every_phase(text: str) -> bool:
    """The criterion says its test runs at every phase (one rule, many looks)."""
    return bool(_EVERY_PHASE.search(normalise(text)))


def _level(raw: str) -> float:
    raw = raw.strip()
    if raw.endswith("%"):
        return float(raw[:-1]) / 100
    return float(raw)
