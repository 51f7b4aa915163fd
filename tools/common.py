"""Small shared types: versions, T-offsets, bounded text and lists.

Every string and list an agent can send is bounded here, so hostile or runaway input is refused
with a clear message instead of being stored.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# SemVer 2.0.0, with an optional leading "v" that we strip.
_SEMVER_RE = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)

MAX_SHORT = 200  # names, titles, owners, metric names
MAX_TEXT = 2_000  # one paragraph: a reason, a mitigation, a step
MAX_LONG = 20_000  # a free-form block: commands, notes
MAX_ITEMS = 100  # entries in one list


MAX_VERSION = 64  # SemVer sets no limit; real versions are far shorter, and ref-adjacent text stays small


def preview(value: object, limit: int = 40) -> str:
    """``repr`` of a bad value for an error message, cut short so huge input gives a short error."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value))} characters)"


def normalize_version(value: str) -> str:
    """``v2.5.0`` or ``2.5.0`` -> ``2.5.0``. Raises ValueError naming what is valid."""
    if not isinstance(value, str):
        raise ValueError("a version must be a string such as 2.5.0 or v2.5.0")
    text = value.strip()
    if len(text) > MAX_VERSION:
        raise ValueError(f"a version is at most {MAX_VERSION} characters; got {len(text)}")
    m = _SEMVER_RE.match(text)
    if not m:
        raise ValueError(
            f"{preview(value)} is not a SemVer version; use MAJOR.MINOR.PATCH such as 2.5.0 or v2.5.0 "
            "(optionally -prerelease and +build)"
        )
    return text[1:] if text.startswith("v") else text


def version_core(version: str) -> tuple[int, int, int]:
    m = _SEMVER_RE.match(version)
    if not m:
        raise ValueError(f"{version!r} is not a SemVer version")
    return int(m["major"]), int(m["minor"]), int(m["patch"])


def release_type_of(version: str) -> str:
    """What kind of release the version number says: major (x.0.0), minor (x.y.0) or patch."""
    _major, minor, patch = version_core(version)
    if patch:
        return "patch"
    if minor:
        return "minor"
    return "major"


def semver_key(version: str) -> tuple:
    """Sort key with SemVer 2.0.0 precedence: pre-releases sort below the release, build is ignored."""
    major, minor, patch = version_core(version)
    core = version.split("+", 1)[0]
    if "-" not in core:
        return (major, minor, patch, (1,))
    pre = core.split("-", 1)[1]
    # Numeric identifiers sort numerically and below alphanumeric ones (SemVer rule 11.4).
    idents = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, (0, *idents))


Version = Annotated[
    str,
    StringConstraints(max_length=MAX_VERSION),
    AfterValidator(normalize_version),
    Field(description="SemVer version, e.g. 2.5.0 or v2.5.0"),
]

# T-offsets: days relative to the release (target) date. "T-90", "T+30", "T", "T+0".
_TOFFSET_RE = re.compile(r"^T(?:(?P<sign>[+-])(?P<days>\d{1,4}))?(?:\s*d(?:ays?)?)?$", re.IGNORECASE)


def parse_t_offset(value: str | int) -> int:
    """``T-90`` -> -90, ``T+30`` -> 30, ``T`` -> 0; integers pass through. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("a T-offset must be like T-90, T, T+30 or a number of days")
    if isinstance(value, int):
        return value
    m = _TOFFSET_RE.match(str(value).strip())
    if not m:
        raise ValueError(
            f"{preview(value)} is not a T-offset; use T-90, T-7, T, T+30 (days from the release date)"
        )
    days = int(m["days"] or 0)
    return -days if m["sign"] == "-" else days


def format_t_offset(days: int) -> str:
    if days == 0:
        return "T"
    return f"T{'+' if days > 0 else '-'}{abs(days)}"


def offset_date(release_date: date, days: int) -> date:
    return release_date + timedelta(days=days)


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 but \t \n \r, DEL, C1


def _no_control_chars(value: str) -> str:
    # Newlines and tabs are fine in prose; other control characters (NUL, ESC, ...) corrupt Markdown
    # and terminals, and are refused rather than stored.
    found = _CONTROL_RE.search(value)
    if found:
        raise ValueError(f"contains the control character U+{ord(found.group()):04X}; remove it")
    return value


def _single_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line (no line breaks)")
    return value


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SHORT),
    AfterValidator(_no_control_chars),
    AfterValidator(_single_line),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT),
    AfterValidator(_no_control_chars),
]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LONG),
    AfterValidator(_no_control_chars),
]


Comparator = Literal[">", ">=", "<", "<="]
Unit = Literal["percent", "ratio", "ms", "seconds", "minutes", "count", "per_minute", "usd"]


# Units that measure the same quantity, with the factor to a base unit: a threshold stated as a
# ratio and one stated in percent (or in seconds and in milliseconds) are compared after conversion.
_SCALE: dict[str, tuple[str, float]] = {
    "ratio": ("fraction", 1.0),
    "percent": ("fraction", 0.01),
    "ms": ("duration", 0.001),
    "seconds": ("duration", 1.0),
    "minutes": ("duration", 60.0),
}


def in_base_unit(value: float, unit: str) -> tuple[str, float]:
    """``value`` in the base unit of its dimension: (dimension, value). Units with no kin are their
    own dimension."""
    dimension, factor = _SCALE.get(unit, (unit, 1.0))
    return dimension, value * factor


class MetricCondition(BaseModel):
    """A condition on one metric, e.g. ``error_rate > 5 percent for 5 minutes``.

    Where it is a trigger or a halt threshold it describes the bad state; where it is a phase's
    metric target it describes the good state. ``window_minutes`` is how long the condition must
    hold (a sustained window); None means a single observation.
    """

    model_config = ConfigDict(extra="forbid")

    metric: ShortText = Field(description="Metric name, e.g. error_rate, latency_p99, payment_failure_rate")
    comparator: Comparator = Field(description="How the observed value compares to the threshold")
    threshold: float = Field(allow_inf_nan=False, description="The threshold value, in `unit`")
    unit: Unit = Field(default="percent", description="Unit of the threshold")
    window_minutes: int | None = Field(
        default=None,
        ge=1,
        le=60 * 24 * 90,
        description="Minutes the condition must hold; omit for one observation",
    )

    def describe(self) -> str:
        unit = {
            "percent": "%",
            "ratio": "",
            "ms": " ms",
            "seconds": " s",
            "minutes": " min",
            "count": "",
            "per_minute": "/min",
            "usd": " USD",
        }[self.unit]
        value = f"{self.threshold:g}{unit}"
        text = f"{self.metric} {self.comparator} {value}"
        if self.window_minutes:
            text += f" for {self.window_minutes} min"
        return text
