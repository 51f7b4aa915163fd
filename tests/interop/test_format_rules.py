"""The small format rules every backend shares: timestamps, data flattening, relationship spellings."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from release_planner.server.engram import format as fmt
from release_planner.tools.ports import BUILTIN_RELATIONSHIP_TYPES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)))
def test_written_timestamps_read_back_to_the_same_instant(dt: datetime) -> None:
    text = fmt.format_timestamp(dt)
    assert len(text) == 30 and text.endswith("Z") and text[19] == "."
    assert fmt.parse_timestamp(text) == (dt - EPOCH) // timedelta(microseconds=1) * 1000
    assert fmt.parse_timestamp(fmt.format_sidecar_timestamp(dt)) == fmt.parse_timestamp(text)


@pytest.mark.parametrize(
    ("text", "expected_ns"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.5Z", 500_000_000),
        ("1970-01-01T00:00:00.000000001Z", 1),
        ("1970-01-01T01:00:00+01:00", 0),
        ("1969-12-31T23:00:00-01:00", 0),
        ("1970-01-01t00:00:00.123z", 123_000_000),
    ],
)
def test_rfc3339_in_any_offset_and_precision_is_read(text: str, expected_ns: int) -> None:
    assert fmt.parse_timestamp(text) == expected_ns


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-10T09:00:00",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-01-10T24:00:00Z",
        "2026-01-10T09:00Z",
        "2026-01-10T09:00:00+25:00",
        "yesterday",
        "",
        None,
        1700000000,
    ],
)
def test_anything_else_is_not_a_timestamp(text: object) -> None:
    assert fmt.parse_timestamp(text) is None


def test_the_validator_allows_at_most_nine_fraction_digits() -> None:
    assert fmt.parse_timestamp("2026-01-10T09:00:00.1234567891Z", max_fraction_digits=9) is None
    assert fmt.parse_timestamp("2026-01-10T09:00:00.123456789Z", max_fraction_digits=9) is not None


def test_naive_and_offset_datetimes_are_written_in_utc() -> None:
    local = datetime(2026, 3, 2, 11, 15, tzinfo=timezone(timedelta(hours=2)))
    assert fmt.format_timestamp(local) == "2026-03-02T09:15:00.000000000Z"
    assert fmt.format_timestamp(datetime(2026, 3, 2, 9, 15)) == "2026-03-02T09:15:00.000000000Z"


def test_data_is_unwrapped_only_while_data_is_its_only_key() -> None:
    inner = {"title": "t"}
    assert fmt.flatten_data({"data": {"data": {"data": inner}}}) == inner
    assert fmt.flatten_data({"data": inner, "title": "x"}) == {"data": inner, "title": "x"}
    assert fmt.flatten_data({"data": "text"}) == {"data": "text"}
    assert fmt.flatten_data({"entity": inner}) == {"entity": inner}


def test_relationship_types_use_engrams_variant_names_or_custom() -> None:
    assert [fmt.encode_relationship_type(n) for n in BUILTIN_RELATIONSHIP_TYPES] == [
        "DependsOn",
        "Contains",
        "References",
        "Fulfills",
        "Implements",
        "Supersedes",
        "AssociatedWith",
        "Influences",
    ]
    assert fmt.encode_relationship_type("documents") == {"Custom": "documents"}
    assert fmt.encode_relationship_type("DependsOn") == {"Custom": "DependsOn"}


def test_the_content_hash_is_over_compact_sorted_utf8() -> None:
    compact = '{"a":{"c":[1.0,null],"d":1},"b":"é"}'.encode()
    assert fmt.content_hash({"b": "é", "a": {"d": 1, "c": [1.0, None]}}) == (
        hashlib.sha256(compact).hexdigest(),
        len(compact),
    )
