"""The flagd export, evaluated by the OpenFeature flagd provider in its in-process file mode (the
provider reads the exported flag file and evaluates it locally; no flagd daemon, no network)."""

from __future__ import annotations

import itertools
import json
import time
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
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext
from openfeature.provider import ProviderStatus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
_files = itertools.count()


@contextmanager
def flagd(doc: dict[str, Any], folder: Path) -> Iterator[OpenFeatureClient]:
    path = folder / f"flags-{next(_files)}.json"
    path.write_text(json.dumps(doc))
    domain = path.stem
    api.set_provider(
        FlagdProvider(resolver_type=ResolverType.FILE, offline_flag_source_path=str(path)), domain
    )
    client = api.get_client(domain)
    try:
        deadline = time.monotonic() + 10
        while client.get_provider_status() != ProviderStatus.READY:
            assert time.monotonic() < deadline, client.get_provider_status()
            time.sleep(0.01)
        yield client
    finally:
        api.shutdown()


def enabled(client: OpenFeatureClient, flag: str, user: str, **attributes: Any) -> bool:
    details = client.get_boolean_details(
        flag, False, EvaluationContext(targeting_key=user, attributes=attributes)
    )
    assert details.error_code is None, (details.error_code, details.error_message)
    return details.value is True


def _evaluate(folder: Path):  # type: ignore[no-untyped-def]
    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with flagd(doc, folder) as client:
            return {u for u in users if enabled(client, flag, u)}

    return evaluate


def test_each_phase_turns_on_its_share_of_users_and_the_cohorts_nest(tmp_path: Path) -> None:
    shares = shares_and_nesting(exported(seed_plan(), "flagd"), _evaluate(tmp_path), [1, 5, 20, 50, 100])
    print("flagd shares:", [f"{s:.2f}" for s in shares])


def test_shares_below_one_percent_keep_their_precision(tmp_path: Path) -> None:
    shares = shares_and_nesting(
        exported(fine_plan(), "flagd"), _evaluate(tmp_path), [0.5, 2.5, 12.5, 33.3, 100]
    )
    print("flagd fine shares:", [f"{s:.2f}" for s in shares])


def test_every_flag_of_a_phase_reaches_the_same_users(tmp_path: Path) -> None:
    result = exported(seed_plan(), "flagd")
    with flagd(result.documents[2].content, tmp_path) as client:
        cohorts = {f: frozenset(u for u in USERS[:3000] if enabled(client, f, u)) for f in every_flag(result)}
    assert len(set(cohorts.values())) == 1
    assert 450 <= len(next(iter(cohorts.values()))) <= 750


def test_a_beta_tester_is_in_from_the_phase_that_names_the_segment(tmp_path: Path) -> None:
    result = exported(seed_plan(), "flagd")
    flag = every_flag(result)[0]
    with flagd(result.documents[0].content, tmp_path) as client:
        outside = [u for u in USERS[:2000] if not enabled(client, flag, u)]
        assert not any(enabled(client, flag, u, beta_tester=True) for u in outside)
    with flagd(result.documents[1].content, tmp_path) as client:
        assert all(enabled(client, flag, u, beta_tester=True) for u in outside)
        assert all(enabled(client, flag, u, beta_tester="true") for u in outside)
        assert sum(enabled(client, flag, u, beta_tester=False) for u in outside) <= 0.06 * len(outside)


def test_a_user_without_the_hashed_attribute_stays_off(tmp_path: Path) -> None:
    spec = seed_plan().model_copy(deep=True)
    for phase in spec.phases:
        assert phase.targeting is not None
        phase.targeting.stickiness = "tenantId"
    result = exported(spec, "flagd")
    flag = every_flag(result)[0]
    with flagd(result.documents[3].content, tmp_path) as client:
        tenants = {u for u in USERS[:2000] if enabled(client, flag, u, tenantId=u)}
        assert 850 <= len(tenants) <= 1150  # 50% of tenants
        assert not any(enabled(client, flag, u) for u in USERS[:2000])


def test_the_employees_whitelist_matches_nobody_until_filled_in(tmp_path: Path) -> None:
    result = exported(seed_plan(), "flagd")
    doc = result.documents[0].content
    flag = every_flag(result)[0]
    with flagd(doc, tmp_path) as client:
        off = [u for u in USERS[:500] if not enabled(client, flag, u)]
    assert len(off) >= 480
    evaluators = {"segment-employees": {"in": [{"var": "targetingKey"}, off[:3]]}}
    with flagd({**doc, "$evaluators": evaluators}, tmp_path) as client:
        assert all(enabled(client, flag, u) for u in off[:3])


def test_an_unusual_plan_loads_keeps_shares_nesting_and_its_segments_apart(tmp_path: Path) -> None:
    """A rule outside ASCII (région=eu) must not stop the provider from reading the file, and a dotted
    attribute is read as a path: the export says so, and a nested context works."""
    result = exported(unusual_plan(), "flagd")
    assert any(w.code == "export_attribute_path" for w in result.warnings)

    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with flagd(doc, tmp_path) as client:
            return {u for u in users if enabled(client, flag, f"user-of-{u}", tenant={"id": u})}

    shares_and_nesting(result, evaluate, [0.5, 33.333, 99.99, 100])
    with flagd(result.documents[2].content, tmp_path) as client:  # without tenant.id: segments only
        for flag in every_flag(result):
            assert enabled(client, flag, "alice")  # the user-id whitelist: the targeting key
            assert not enabled(client, flag, "carol")
            assert enabled(client, flag, "carol", **{"région": "eu"})
            assert not enabled(client, flag, "carol", **{"région": "us"})


def test_segments_that_slug_alike_stay_apart(tmp_path: Path) -> None:
    result = exported(alike_plan(), "flagd")
    flag = every_flag(result)[0]
    with flagd(result.documents[2].content, tmp_path) as client:
        out = [u for u in USERS[:300] if not enabled(client, flag, u)]
        for name in ("beta_tester", "beta-tester"):
            assert all(enabled(client, flag, u, **{name: True}) for u in out)
            assert not any(enabled(client, flag, u, **{name: "no"}) for u in out)


def test_a_plan_that_drops_a_cohort_is_exported_nested(tmp_path: Path) -> None:
    def evaluate(doc: dict[str, Any], flag: str, users: Sequence[str]) -> set[str]:
        with flagd(doc, tmp_path) as client:
            return {u for i, u in enumerate(users) if enabled(client, flag, u, beta_tester=i % 3 == 0)}

    nesting_with_members(exported(dropping_plan(), "flagd"), evaluate)
