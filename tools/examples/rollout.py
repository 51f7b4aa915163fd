"""Step 4 of the skill's v2.5.0 example as ``plan_rollout`` arguments.

``ARGS`` is the rollout corrected: it starts on Monday 16 March 2026 (the skill's "March 15 (Monday)"
was a Sunday), every phase hashes userId in one group so cohorts nest, the named segments ride along
as extra inclusions, the rollout halts on exactly the rollback's automatic triggers with the same
thresholds (the skill halted on two of its four triggers), no phase changes on a weekend, and the
20% phase decides conversion with a non-inferiority test that has a margin, a baseline rate and a
minimum n at least the sample the server computes for it.

``SEED_AS_WRITTEN`` keeps the skill's choices, so checking it reports what release-domain §7 lists:
cohorts that do not nest, a 3% halt against 5% rollback triggers, weekend phase changes and a
"positive or neutral A/B results" go rule on a p<0.05 superiority test.
"""

from __future__ import annotations

from typing import Any

_START = {"at": "2026-03-16T10:00", "timezone": "America/New_York"}
_GROUP = "release-v2.5.0"
_SEGMENTS_1 = ["employees"]
_SEGMENTS_2 = ["employees", "beta_tester=true"]

_DASHBOARD = "https://flags.example.com/dashboard"
_ACCESS = ["Alice Chen", "Bob Wilson", "Carol Davis"]
_EMERGENCY = (
    "# Disable all v2.5.0 features instantly\n"
    "curl -X POST https://flags.example.com/api/emergency-disable \\\n"
    '  -d \'{"release": "v2.5.0"}\' \\\n'
    '  -H "Authorization: Bearer $EMERGENCY_TOKEN"'
)


def _flags() -> list[dict[str, Any]]:
    described = [
        ("enable_payment_processing", "Stripe payment processing"),
        ("enable_elasticsearch_search", "Elasticsearch-backed search"),
        ("enable_websocket_notifications", "Real-time notifications over WebSocket"),
        ("enable_dark_mode", "Dark mode theme"),
    ]
    return [
        {
            "name": name,
            "description": text,
            "dashboard": _DASHBOARD,
            "access": list(_ACCESS),
            "emergency_disable": _EMERGENCY,
        }
        for name, text in described
    ]


def cond(
    metric: str, comparator: str, threshold: float, unit: str = "percent", window: int | None = None
) -> dict:
    out: dict[str, Any] = {"metric": metric, "comparator": comparator, "threshold": threshold, "unit": unit}
    if window is not None:
        out["window_minutes"] = window
    return out


ROLLBACK_TRIGGERS_AS_WRITTEN: list[dict[str, Any]] = [
    cond("error_rate", ">", 5, "percent", 5),
    cond("latency_p99", ">", 2, "seconds", 10),
    cond("payment_failure_rate", ">", 2, "percent"),
    cond("db_pool_utilization", ">", 90, "percent", 5),
]
"""The skill's automatic rollback triggers (step 3 of its example), for the cross-check."""


ARGS: dict[str, Any] = {
    "version": "2.5.0",
    "approach": "feature_flag",
    "start": dict(_START),
    "halt_threshold": [
        cond("error_rate", ">", 5, "percent", 5),
        cond("latency_p99", ">", 2, "seconds", 10),
        cond("payment_failure_rate", ">", 2, "percent", 5),
        cond("db_pool_utilization", ">", 90, "percent", 5),
    ],
    "flags": _flags(),
    "phases": [
        {
            "name": "Internal Dogfooding",
            "audience": "Employees (~50 users) plus 1% of users by userId",
            "percent": 1,
            "targeting": {"segments": list(_SEGMENTS_1), "stickiness": "userId", "group_id": _GROUP},
            "duration_hours": 24,
            "success_criteria": [
                "Zero critical bugs reported by employees",
                "Payment test transactions succeed (Stripe test mode)",
                "Search returns relevant results",
                "WebSocket connections stable",
            ],
            "metric_targets": [
                cond("error_rate", "<", 0.5, "percent", 60),
                cond("payment_success_rate", ">", 98, "percent", 60),
                cond("search_latency_p95", "<", 200, "ms", 60),
                cond("websocket_connection_duration", ">", 5, "minutes"),
            ],
            "expected_users": 150,
            "decision_owner": "Alice Chen (Engineering Lead)",
            "go_rules": ["All metrics green, no critical bugs, positive feedback"],
            "no_go_rules": ["Any critical bug or metric outside its target"],
        },
        {
            "name": "Beta Users",
            "audience": "Employees and opted-in beta testers (~500 users) plus 5% of users by userId",
            "percent": 5,
            "targeting": {"segments": list(_SEGMENTS_2), "stickiness": "userId", "group_id": _GROUP},
            "duration_hours": 48,
            "success_criteria": [
                "Fewer than 3 critical bugs reported, all fixed",
                "Payment processing works in production mode",
                "Positive feedback from beta users (>4/5 rating)",
                "Support tickets at or below baseline",
            ],
            "metric_targets": [
                cond("error_rate", "<", 1, "percent", 60),
                cond("payment_failure_rate", "<", 1, "percent", 60),
            ],
            "expected_users": 1000,
            "decision_owner": "Alice Chen + Product Lead",
            "go_rules": ["Fewer than 3 critical bugs (all fixed), metrics within target"],
            "no_go_rules": ["Payment issues or negative beta feedback"],
        },
        {
            "name": "Early Adopters",
            "audience": "Enterprise early-access users and earlier cohorts: 20% of users by userId (~2000)",
            "percent": 20,
            "targeting": {"segments": list(_SEGMENTS_2), "stickiness": "userId", "group_id": _GROUP},
            "duration_hours": 96,
            "success_criteria": [
                "Payment processing handles $10K+ volume",
                "Search performance stable under higher load",
                "No enterprise churn",
            ],
            "metric_targets": [
                cond("error_rate", "<", 2, "percent", 60),
                cond("payment_disputes", "<=", 0, "count"),
                cond("elasticsearch_cpu", "<", 70, "percent", 30),
                cond("elasticsearch_memory", "<", 80, "percent", 30),
            ],
            "min_sample": 1600,
            "expected_users": 2000,
            "decision_owner": "Alice Chen + Product Lead + Finance (payment sign-off)",
            "go_rules": [
                "Metrics within target and no payment issues",
                "Conversion non-inferior: the upper bound of the drop is below 1 percentage point",
            ],
            "no_go_rules": ["Any payment dispute, conversion harm not ruled out, or infrastructure stress"],
            # A 2% conversion rate, a 1-point margin, one-sided α = 0.05 and 80% power need 1,515
            # exposed users against the 80% not yet in the phase; the server computes it.
            "gate": {
                "type": "non_inferiority",
                "metric": "conversion_rate",
                "margin": 1.0,
                "alpha": 0.05,
                "baseline_rate": 2.0,
            },
        },
        {
            "name": "Majority Rollout",
            "audience": "50% of all users by userId, including every earlier cohort",
            "percent": 50,
            "targeting": {"segments": list(_SEGMENTS_2), "stickiness": "userId", "group_id": _GROUP},
            "duration_hours": 48,
            "success_criteria": [
                "Infrastructure scales to 50% load smoothly",
                "Payment processing handles the proportional volume increase",
                "No cost surprises (Elasticsearch, Stripe fees; about $2K/day expected)",
            ],
            "metric_targets": [
                cond("error_rate", "<", 2, "percent", 60),
                cond("cpu_utilization", "<", 80, "percent", 30),
                cond("memory_utilization", "<", 85, "percent", 30),
                cond("disk_utilization", "<", 70, "percent", 30),
            ],
            "decision_owner": "Alice Chen + DevOps Lead + Finance",
            "go_rules": ["Infrastructure stable, costs in budget, no user complaints"],
            "no_go_rules": ["Infrastructure at capacity, cost overruns or degraded performance"],
        },
        {
            "name": "Full Rollout",
            "audience": "All users",
            "percent": 100,
            "targeting": {"segments": list(_SEGMENTS_2), "stickiness": "userId", "group_id": _GROUP},
            "duration_hours": None,
            "success_criteria": [
                "All metrics stable at 100% load",
                "Ready to remove the flags and the old code paths (SQL search and polling fallbacks)",
            ],
            "metric_targets": [
                cond("error_rate", "<", 1, "percent", 60),
                cond("payment_failure_rate", "<", 1, "percent", 60),
            ],
        },
    ],
}


def _seed_phase(phase: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {k: v for k, v in phase.items() if k not in ("min_sample", "expected_users", "gate")}
    out.update(changes)
    return out


_P = ARGS["phases"]
SEED_AS_WRITTEN: dict[str, Any] = {
    "version": "v2.5.0",
    "approach": "feature_flag",
    # The skill calls 15 March 2026 a Monday; it is a Sunday.
    "start": {"at": "2026-03-15T10:00", "timezone": "America/New_York"},
    "halt_threshold": [
        cond("error_rate", ">", 3, "percent"),
        cond("payment_failure_rate", ">", 2, "percent"),
    ],
    "flags": _flags(),
    "phases": [
        _seed_phase(
            _P[0],
            audience="Employees only (~50 users)",
            targeting={"segments": ["internal email domain whitelist (@example.com)"]},
            expected_users=50,
        ),
        _seed_phase(
            _P[1],
            audience="Opted-in beta testers (~500 users)",
            targeting={"segments": ["beta_tester=true"]},
            success_criteria=[
                "<3 critical bugs reported",
                "Payment processing works in production mode",
                "Positive feedback from beta users (>4/5 rating)",
            ],
        ),
        _seed_phase(
            _P[2],
            audience="Users who signed up for enterprise tier early access (~2000 users)",
            targeting={"stickiness": "user_id"},
            duration_hours=72,
            go_rules=["Metrics stable, no payment issues, positive or neutral A/B results"],
            no_go_rules=["Payment disputes, negative impact on conversion, infrastructure stress"],
            success_criteria=[
                *_P[2]["success_criteria"],
                "A/B test: engagement +15% and conversion +10% targets; statistical significance p<0.05",
            ],
            gate={"type": "superiority", "metric": "conversion_rate", "alpha": 0.05},
        ),
        _seed_phase(
            _P[3],
            audience="50% of all users",
            targeting={"stickiness": "random"},
        ),
        _seed_phase(
            _P[4],
            audience="All users (100%)",
            targeting=None,
        ),
    ],
}
