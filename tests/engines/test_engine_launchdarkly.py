"""The LaunchDarkly export, evaluated by LaunchDarkly's own Python server SDK reading the exported
flag JSON through its file data source (offline: no events, no connection)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from engine_plans import (
    USERS,
    alike_plan,
    dropping_plan,
    every_flag,
    exported,
    fine_plan,
    nesting_with_members,
    seed_plan,
    shares_and_nesting,
    unusual_plan,
)
from ldclient import Context, LDClient
from ldclient.config import Config
from ldclient.integrations import Files

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
_files = itertools.count()


@contextmanager
def launchdarkly(doc: dict[str, Any], folder: Path) -> Iterator[LDClient]:
    path = folder / f"flags-{next(_files)}.json"
    path.write_text(json.dumps(doc))
    config = Config(
        "sdk-key-not-used",
        update_processor_class=Files.new_data_source(paths=[str(path)]),
        send_events=False,
        diagnostic_opt_out=True,
    )
    client = LDClient(config=config)
    try:
        assert client.is_initialized()
        yield client
    finally:
        client.close()


def enabled(client: LDClient, flag: str, context: Context) -> bool:
    detail = client.variation_detail(flag, context, False)
    assert detail.reason["kind"] != "ERROR", detail.reason
    return detail.value is True


def _evaluate(folder: Path):  # type: ignore[no-untyped-def]
    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with launchdarkly(doc, folder) as client:
            return {u for u in users if enabled(client, flag, Context.create(u))}

    return evaluate


def test_each_phase_turns_on_its_share_of_users_and_the_cohorts_nest(tmp_path: Path) -> None:
    shares = shares_and_nesting(
        exported(seed_plan(), "launchdarkly"), _evaluate(tmp_path), [1, 5, 20, 50, 100]
    )
    print("launchdarkly shares:", [f"{s:.2f}" for s in shares])


def test_shares_below_one_percent_keep_their_precision(tmp_path: Path) -> None:
    shares = shares_and_nesting(
        exported(fine_plan(), "launchdarkly"), _evaluate(tmp_path), [0.5, 2.5, 12.5, 33.3, 100]
    )
    print("launchdarkly fine shares:", [f"{s:.2f}" for s in shares])


def test_every_flag_of_a_phase_reaches_the_same_users(tmp_path: Path) -> None:
    result = exported(seed_plan(), "launchdarkly")
    with launchdarkly(result.documents[2].content, tmp_path) as client:
        cohorts = {
            f: frozenset(u for u in USERS[:3000] if enabled(client, f, Context.create(u)))
            for f in every_flag(result)
        }
    assert len(set(cohorts.values())) == 1
    assert 450 <= len(next(iter(cohorts.values()))) <= 750


def test_a_beta_tester_is_in_from_the_phase_that_names_the_segment(tmp_path: Path) -> None:
    result = exported(seed_plan(), "launchdarkly")
    flag = every_flag(result)[0]

    def beta(u: str, value: Any) -> Context:
        return Context.builder(u).set("beta_tester", value).build()

    with launchdarkly(result.documents[0].content, tmp_path) as client:
        outside = [u for u in USERS[:2000] if not enabled(client, flag, Context.create(u))]
        assert not any(enabled(client, flag, beta(u, True)) for u in outside)
    with launchdarkly(result.documents[1].content, tmp_path) as client:
        # The attribute as a boolean or as the string the plan wrote: both are in.
        assert all(enabled(client, flag, beta(u, True)) for u in outside)
        assert all(enabled(client, flag, beta(u, "true")) for u in outside)
        assert sum(enabled(client, flag, beta(u, False)) for u in outside) <= 0.06 * len(outside)


def test_the_employees_segment_matches_nobody_until_filled_in(tmp_path: Path) -> None:
    result = exported(seed_plan(), "launchdarkly")
    doc = result.documents[0].content
    flag = every_flag(result)[0]
    with launchdarkly(doc, tmp_path) as client:
        off = [u for u in USERS[:500] if not enabled(client, flag, Context.create(u))]
    assert len(off) >= 480
    segments = {k: {**s, "included": off[:3]} for k, s in doc["segments"].items()}
    with launchdarkly({**doc, "segments": segments}, tmp_path) as client:
        assert all(enabled(client, flag, Context.create(u)) for u in off[:3])


def _tenant(user: str, **more: Any) -> Context:
    builder = Context.builder(f"user-of-{user}").set("tenant.id", user)
    for name, value in more.items():
        builder.set(name, value)
    return builder.build()


def test_an_unusual_plan_keeps_shares_nesting_and_its_segments_apart(tmp_path: Path) -> None:
    result = exported(unusual_plan(), "launchdarkly")

    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with launchdarkly(doc, tmp_path) as client:
            return {u for u in users if enabled(client, flag, _tenant(u))}

    shares_and_nesting(result, evaluate, [0.5, 33.333, 99.99, 100])
    with launchdarkly(result.documents[2].content, tmp_path) as client:  # without tenant.id
        for flag in every_flag(result):
            assert enabled(client, flag, Context.create("alice"))  # the user-id whitelist: the key
            assert not enabled(client, flag, Context.create("carol"))
            assert enabled(client, flag, Context.builder("carol").set("région", "eu").build())
            assert not enabled(client, flag, Context.builder("carol").set("région", "us").build())


def test_a_context_without_the_hashed_attribute_stays_off(tmp_path: Path) -> None:
    """LaunchDarkly buckets a context it cannot hash at 0; that bucket must not be the on-variation."""
    result = exported(unusual_plan(), "launchdarkly")
    with launchdarkly(result.documents[1].content, tmp_path) as client:  # 33.333%
        assert not any(enabled(client, "checkout.v2", Context.create(u)) for u in USERS[:500])
        other_kind = Context.builder("device-1").kind("device").set("tenant.id", "t").build()
        assert not enabled(client, "checkout.v2", other_kind)


def test_segments_that_slug_alike_stay_apart(tmp_path: Path) -> None:
    result = exported(alike_plan(), "launchdarkly")
    flag = every_flag(result)[0]
    with launchdarkly(result.documents[2].content, tmp_path) as client:
        out = [u for u in USERS[:300] if not enabled(client, flag, Context.create(u))]
        for name in ("beta_tester", "beta-tester"):
            assert all(enabled(client, flag, Context.builder(u).set(name, True).build()) for u in out)
            assert not any(enabled(client, flag, Context.builder(u).set(name, "no").build()) for u in out)
    rules = result.documents[2].content["flags"][flag]["rules"]
    assert len({r["id"] for r in rules}) == len(rules) == 2


def test_a_plan_that_drops_a_cohort_is_exported_nested(tmp_path: Path) -> None:
    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with launchdarkly(doc, tmp_path) as client:
            return {
                u
                for i, u in enumerate(users)
                if enabled(client, flag, Context.builder(u).set("beta_tester", i % 3 == 0).build())
            }

    nesting_with_members(exported(dropping_plan(), "launchdarkly"), evaluate)
