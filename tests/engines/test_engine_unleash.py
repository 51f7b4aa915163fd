"""The Unleash export, evaluated by Unleash's own Python SDK (UnleashClient, bootstrapped offline from
the exported payload; no server is contacted)."""

from __future__ import annotations

import itertools
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
    nesting_with_members,
    seed_plan,
    shares_and_nesting,
    unusual_plan,
)
from UnleashClient import UnleashClient
from UnleashClient.cache import FileCache
from UnleashClient.utils import InstanceAllowType

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
_names = itertools.count()


@contextmanager
def unleash(payload: dict[str, Any], folder: Path) -> Iterator[UnleashClient]:
    name = f"export-test-{next(_names)}"
    cache = FileCache(name, directory=str(folder / name))
    cache.bootstrap_from_dict(payload)
    client = UnleashClient(
        "http://127.0.0.1:9/api",  # never called: toggles come from the bootstrapped cache
        name,
        disable_metrics=True,
        disable_registration=True,
        cache=cache,
        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
    )
    client.initialize_client(fetch_toggles=False)
    try:
        yield client
    finally:
        client.destroy()


def test_each_phase_turns_on_its_share_of_users_and_the_cohorts_nest(tmp_path: Path) -> None:
    result = exported(seed_plan(), "unleash")

    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with unleash(doc, tmp_path) as client:
            return {u for u in users if client.is_enabled(flag, {"userId": u})}

    shares = shares_and_nesting(result, evaluate, [1, 5, 20, 50, 100])
    print("unleash shares:", [f"{s:.2f}" for s in shares])


def test_every_flag_of_a_phase_reaches_the_same_users(tmp_path: Path) -> None:
    result = exported(seed_plan(), "unleash")
    with unleash(result.documents[2].content, tmp_path) as client:
        cohorts = {
            f: frozenset(u for u in USERS[:3000] if client.is_enabled(f, {"userId": u}))
            for f in every_flag(result)
        }
    assert len(set(cohorts.values())) == 1
    assert 450 <= len(next(iter(cohorts.values()))) <= 750  # 20% of 3,000


def test_a_beta_tester_is_in_from_the_phase_that_names_the_segment(tmp_path: Path) -> None:
    result = exported(seed_plan(), "unleash")
    flag = every_flag(result)[0]
    outside = [u for u in USERS[:2000]]
    with unleash(result.documents[0].content, tmp_path) as client:
        outside = [u for u in outside if not client.is_enabled(flag, {"userId": u})]
        assert not any(
            client.is_enabled(flag, {"userId": u, "properties": {"beta_tester": "true"}}) for u in outside
        )
    with unleash(result.documents[1].content, tmp_path) as client:
        assert all(
            client.is_enabled(flag, {"userId": u, "properties": {"beta_tester": "true"}}) for u in outside
        )
        beta_false = [
            client.is_enabled(flag, {"userId": u, "properties": {"beta_tester": "false"}}) for u in outside
        ]
        assert sum(beta_false) <= 0.06 * len(outside)  # only the 5% rollout, never the segment


def test_the_employees_whitelist_matches_nobody_until_filled_in(tmp_path: Path) -> None:
    result = exported(seed_plan(), "unleash")
    doc = result.documents[0].content
    flag = every_flag(result)[0]
    with unleash(doc, tmp_path) as client:
        off = [u for u in USERS[:500] if not client.is_enabled(flag, {"userId": u})]
    assert len(off) >= 480  # 1% rollout only: the empty whitelist adds no one
    filled = {
        **doc,
        "segments": [
            {**s, "constraints": [{**s["constraints"][0], "values": off[:3]}]} for s in doc["segments"]
        ],
    }
    with unleash(filled, tmp_path) as client:
        assert all(client.is_enabled(flag, {"userId": u}) for u in off[:3])


def test_an_unusual_plan_keeps_shares_nesting_and_its_segments_apart(tmp_path: Path) -> None:
    result = exported(unusual_plan(), "unleash")

    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with unleash(doc, tmp_path) as client:
            return {u for u in users if client.is_enabled(flag, {"properties": {"tenant.id": u}})}

    shares_and_nesting(result, evaluate, [0.5, 33.333, 99.99, 100])
    with unleash(result.documents[2].content, tmp_path) as client:  # without tenant.id: segments only
        for flag in every_flag(result):
            assert client.is_enabled(flag, {"userId": "alice"})
            assert not client.is_enabled(flag, {"userId": "carol"})
            assert client.is_enabled(flag, {"userId": "carol", "properties": {"région": "eu"}})
            assert not client.is_enabled(flag, {"userId": "carol", "properties": {"région": "us"}})


def test_segments_that_slug_alike_stay_apart(tmp_path: Path) -> None:
    result = exported(alike_plan(), "unleash")
    flag = every_flag(result)[0]
    with unleash(result.documents[2].content, tmp_path) as client:
        out = [u for u in USERS[:300] if not client.is_enabled(flag, {"userId": u})]
        for name in ("beta_tester", "beta-tester"):
            assert all(client.is_enabled(flag, {"userId": u, "properties": {name: "true"}}) for u in out)
            assert not any(client.is_enabled(flag, {"userId": u, "properties": {name: "no"}}) for u in out)


def test_a_plan_that_drops_a_cohort_is_exported_nested(tmp_path: Path) -> None:
    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with unleash(doc, tmp_path) as client:
            return {
                u
                for i, u in enumerate(users)
                if client.is_enabled(
                    flag, {"userId": u, "properties": {"beta_tester": str(i % 3 == 0).lower()}}
                )
            }

    nesting_with_members(exported(dropping_plan(), "unleash"), evaluate)
