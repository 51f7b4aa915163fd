"""Step 5, the release runbook of the skill's v2.5.0 example, as ``create_runbook`` arguments.

The skill gives the runbook only as a template; ``ARGS`` fills it for v2.5.0 from the example's own
facts (people, flags, URLs, the March 12 rehearsal) and corrects it: v2.5.0 ships no database
migration, so there is no ``alembic upgrade`` step and no ``alembic downgrade`` troubleshooting entry;
the single ``enable_v2_5_0`` flag becomes the example's four flags; the must-have payment and search
features get smoke tests of their own; the rollout schedule and T's date are left out because the
runbook reads them from the stored rollout plan (the flag step is marked as the one starting it).

``SEED_AS_WRITTEN`` is the template as written (migration step, ``alembic downgrade -1`` in
troubleshooting, one release-wide flag, placeholder contacts). It must draw
``down_migration_in_runbook``.
"""

from __future__ import annotations

from typing import Any

from .rollback import FLAGS

_ENABLE_PHASE_1 = "\n".join(
    f"curl -X PATCH https://flags.example.com/api/flags/{flag} \\\n"
    '  -d \'{"percentage": 1, "whitelist": ["@example.com"]}\''
    for flag in FLAGS
)

ARGS: dict[str, Any] = {
    "version": "v2.5.0",
    "checklist": [
        {
            "name": "Code Readiness",
            "items": [
                "All features complete and merged to main",
                "All tests passing (unit, integration, e2e)",
                "Code review approved by senior engineers",
                "Security scan passed (no critical vulnerabilities)",
                "Performance testing complete (load at 2x expected traffic, stress)",
            ],
        },
        {
            "name": "Infrastructure Readiness",
            "items": [
                "Elasticsearch cluster provisioned and healthy",
                "WebSocket infrastructure load-tested",
                "Staging environment deployed and validated",
                "Production capacity verified (CPU, memory, disk)",
                "Monitoring dashboards configured: https://grafana.example.com/d/release-v2-5-0",
                "Alerts configured and tested (PagerDuty)",
            ],
        },
        {
            "name": "Documentation Readiness",
            "items": [
                "Release notes written",
                "API changelog updated",
                "Internal runbook reviewed (this document)",
            ],
        },
        {
            "name": "Team Readiness",
            "items": [
                "Release engineer assigned: Bob Wilson",
                "On-call engineers available: Bob Wilson (primary), Carol Davis (secondary)",
                "Stakeholders notified of release window",
                "Customer support briefed on new features",
                "Rollback procedure rehearsed in staging: 2026-03-12",
            ],
        },
    ],
    "steps": [
        {
            "name": "Pre-Deployment",
            "at": "T-30min",
            "owner": "Bob Wilson (release engineer)",
            "actions": [
                "Announce in Slack #releases: starting release v2.5.0 deployment, expected duration 60 "
                "minutes, "
                "no traffic impact (feature flags disabled)",
                "Verify all pre-release checklist items complete",
                "Take a database backup",
                "Create and push the release tag",
            ],
            "commands": [
                "pg_dump production > backup_v2.5.0_$(date +%Y%m%d).sql",
                'git tag -a v2.5.0 -m "Release v2.5.0 - Enterprise Features"',
                "git push origin v2.5.0",
            ],
        },
        {
            "name": "Infrastructure Changes",
            "at": "T-15min",
            "owner": "Carol Davis (DevOps)",
            "actions": [
                "Apply the Elasticsearch and WebSocket infrastructure",
                "Wait until both deployments are available",
            ],
            "commands": [
                "kubectl apply -f k8s/elasticsearch.yaml",
                "kubectl wait --for=condition=available deployment/elasticsearch",
                "kubectl apply -f k8s/websocket-server.yaml",
                "kubectl wait --for=condition=available deployment/websocket-server",
            ],
        },
        {
            "name": "Application Deployment",
            "at": "T",
            "owner": "Bob Wilson (release engineer)",
            "actions": [
                "Build and push the Docker image",
                "Update the Kubernetes deployment",
                'Monitor rollout status until "successfully rolled out"',
                "Verify pods healthy (all Running, Ready 1/1)",
            ],
            "commands": [
                "docker build -t registry.example.com/api-server:v2.5.0 .",
                "docker push registry.example.com/api-server:v2.5.0",
                "kubectl set image deployment/api-server api-server=registry.example.com/api-server:v2.5.0",
                "kubectl rollout status deployment/api-server",
                "kubectl get pods -l app=api-server",
            ],
        },
        {
            "name": "Smoke Testing",
            "at": "T+10min",
            "owner": "Bob Wilson (release engineer)",
            "actions": [
                "Run the smoke tests below",
                "Check error rates in Datadog: error rate under 1%, no spike in 500 errors, API latency p95 "
                "under 300 ms",
            ],
        },
        {
            "name": "Enable Feature Flags",
            "at": "T+15min",
            "owner": "Bob Wilson (release engineer)",
            "starts_rollout": True,
            "actions": [
                "Enable Phase 1 of the phased rollout plan (1% internal, @example.com whitelist) on the four "
                "v2.5.0 flags",
                "Run the payment and search smoke tests with an internal account",
                "Monitor for 15 minutes: error rates, internal Slack feedback, new features working",
                "If all good, announce in Slack #releases: Phase 1 started (1% internal), no issues detected",
            ],
            "commands": [_ENABLE_PHASE_1],
        },
        {
            "name": "Post-Deployment",
            "at": "T+30min",
            "owner": "Bob Wilson (release engineer)",
            "actions": [
                "Update status page: deployment complete, all systems operational",
                "Notify stakeholders: email, Slack #releases, project management tool",
                "Monitor for 2 hours: check metrics at T+1h and T+2h, watch alerts, review error logs",
                "Close the deployment ticket",
            ],
        },
    ],
    "smoke_tests": [
        {
            "name": "Automated smoke suite",
            "command": "npm run test:smoke -- --env production",
            "expected": "All smoke tests pass",
        },
        {
            "name": "Homepage loads",
            "check": "Open https://example.com",
            "expected": "Page renders without errors",
        },
        {
            "name": "Login works",
            "check": "Log in with an internal test account",
            "expected": "Dashboard shown",
        },
        {
            "name": "API health check",
            "command": "curl -fsS https://api.example.com/health",
            "expected": "HTTP 200",
        },
        {
            "name": "Database connectivity",
            "check": "Check query response time in Datadog",
            "expected": "Query time under 50 ms",
        },
        {
            "name": "Payment processing (enable_payment_processing)",
            "check": "Once Phase 1 is on (T+15min), pay $1 with an internal account's card, then refund it",
            "expected": "Charge and refund both succeed and appear in the Stripe dashboard",
        },
        {
            "name": "Advanced search (enable_elasticsearch_search)",
            "check": "Once Phase 1 is on (T+15min), search for a known invoice with an internal account",
            "expected": "The invoice is the first result, served by Elasticsearch in under 200 ms",
        },
    ],
    "contacts": [
        {
            "role": "Release Engineer",
            "name": "Bob Wilson",
            "phone": "+1-555-0123",
            "email": "bob@example.com",
        },
        {"role": "On-Call Primary", "name": "Bob Wilson", "phone": "+1-555-0123", "email": "bob@example.com"},
        {
            "role": "On-Call Secondary",
            "name": "Carol Davis",
            "phone": "+1-555-0124",
            "email": "carol@example.com",
        },
        {
            "role": "Engineering Lead",
            "name": "Alice Chen",
            "phone": "+1-555-0125",
            "email": "alice@example.com",
        },
        {"role": "DevOps Lead", "name": "Carol Davis", "phone": "+1-555-0124", "email": "carol@example.com"},
    ],
    "troubleshooting": [
        {
            "issue": "Deployment stuck / pods not starting",
            "check": "`kubectl describe pod <pod-name>`",
            "causes": ["Image pull error", "Resource limits", "Failed health check"],
            "resolution": ["Fix the issue and re-deploy, or roll back (rollback strategy, Type 2)"],
        },
        {
            "issue": "Elasticsearch cluster not ready",
            "check": "`kubectl get pods -l app=elasticsearch`",
            "resolution": [
                "Keep enable_elasticsearch_search off; search falls back to SQL",
                "Fix the cluster, then continue with the rollout plan",
            ],
        },
        {
            "issue": "High error rate after deployment",
            "check": "Error logs, Datadog APM traces",
            "resolution": [
                "Above the rollout halt threshold (5% for 5 minutes): halt the rollout and turn the "
                "v2.5.0 flags off (rollback strategy, Type 1)",
                "Below it: investigate the root cause, which may be acceptable",
                "Fix and re-deploy, or roll back",
            ],
        },
        {
            "issue": "Feature flag not working",
            "check": "Feature flag service status, user assignment",
            "resolution": [
                "Verify the flag exists: `curl "
                "https://flags.example.com/api/flags/enable_payment_processing`",
                "Check the user is in the target cohort",
                "Clear the flag cache if needed",
            ],
        },
    ],
    "post_release": [
        {
            "when": "Day 2",
            "what": "Phase Review",
            "tasks": [
                "Review metrics from Phase 1",
                "Decide go/no-go for Phase 2",
                "Document any issues found",
            ],
        },
        {
            "when": "Week 2",
            "what": "Release Retrospective",
            "tasks": ["What went well?", "What could be improved?", "Update runbook with lessons learned"],
        },
        {
            "when": "Week 3",
            "what": "Feature Flag Cleanup",
            "tasks": [
                "Remove the v2.5.0 feature flags from code",
                "Delete old code paths (SQL search fallback, polling fallback)",
                "Reduce technical debt",
            ],
        },
        {
            "when": "Month 1",
            "what": "Success Metrics Review",
            "tasks": [
                "Measure against release goals",
                "Report to stakeholders",
                "Plan next release based on learnings",
            ],
        },
    ],
}


SEED_AS_WRITTEN: dict[str, Any] = {
    **ARGS,
    "checklist": [
        *ARGS["checklist"][:3],
        {
            "name": "Team Readiness",
            "items": [
                "Release engineer assigned: [Name]",
                "On-call engineer available: [Name, Contact]",
                "Stakeholders notified of release window",
                "Customer support briefed on new features",
                "Rollback procedure rehearsed: [Date]",
            ],
        },
    ],
    "steps": [
        ARGS["steps"][0],
        {
            "name": "Infrastructure Changes",
            "at": "T-15min",
            "actions": [
                "Apply infrastructure changes (if any)",
                "Run database migrations",
                "Verify migration success",
            ],
            "commands": [
                "kubectl apply -f k8s/elasticsearch-deployment.yaml",
                "kubectl wait --for=condition=available deployment/elasticsearch",
                "alembic upgrade head",
                'psql production -c "SELECT version FROM alembic_version;"',
            ],
        },
        *ARGS["steps"][2:4],
        {
            "name": "Enable Feature Flags",
            "at": "T+15min",
            "actions": [
                "Enable Phase 1 (1% internal)",
                "Monitor for 15 minutes",
                "Announce Phase 1 complete",
            ],
            "commands": [
                "curl -X PATCH https://flags.example.com/api/flags/enable_v2_5_0 \\\n"
                '  -d \'{"percentage": 1, "whitelist": ["internal"]}\''
            ],
        },
        ARGS["steps"][5],
    ],
    "smoke_tests": ARGS["smoke_tests"][:5],  # the template's generic checks, none of a feature
    "contacts": [
        {"role": role, "name": "[Name]", "phone": "[Phone]", "slack": "[Slack]"}
        for role in (
            "Release Engineer",
            "On-Call Primary",
            "On-Call Secondary",
            "Engineering Lead",
            "DevOps Lead",
        )
    ],
    "troubleshooting": [
        ARGS["troubleshooting"][0],
        {
            "issue": "Database migration failed",
            "check": "Migration logs in database",
            "resolution": [
                "Put app in maintenance mode",
                "Run reverse migration: `alembic downgrade -1`",
                "Fix migration script",
                "Re-run: `alembic upgrade head`",
            ],
        },
        *ARGS["troubleshooting"][2:],
    ],
}
