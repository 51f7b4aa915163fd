"""Product copy for the model that picks and calls the tools: the tool descriptions and instructions.

Every tool description is read into every conversation (``tools/list``), so each says what the tool
is for, what it needs first and what comes next, and leaves the fields to the schema and the
step's prompt (the "field guide"). ``bench/surface.py`` counts what this costs.
"""

from __future__ import annotations

WRITE_DESCRIPTIONS: dict[str, str] = {
    "create_release_plan": (
        "Step 1, always first: store a version's release plan (goals, feature batches, breaking "
        "changes, dependencies, risks) and its Engram release task (or adopt task_id). Errors store "
        "nothing; warnings come back. Again for the same version: updates in place. Field guide: prompt "
        "scope_release. Next: design_migration_path per breaking change, then design_rollback."
    ),
    "design_migration_path": (
        "Step 2, once per breaking change of the plan (`change` is its name): how users move off the "
        "old behaviour, in phases at T-offsets in days from the target date (announce T-90 to "
        "shutdown T+60; expand, migrate, contract for a database). Field guide: prompt "
        "design_migration. Next: the next breaking change, else design_rollback."
    ),
    "design_rollback": (
        "Step 3: how the release is undone: automatic triggers (metric conditions held for a window), "
        "manual triggers, at most one procedure per type (first = preferred) with time to roll back "
        "and rehearsals, communication. Omit confidence to have it computed. Field guide: prompt "
        "design_rollback. Next: plan_rollout."
    ),
    "plan_rollout": (
        "Step 4: the phased rollout: approach, start (local time and zone), phases whose traffic "
        "percent never falls and ends at 100, gates, flags, a halt threshold equal to the rollback "
        "triggers. Field guide: prompt "
        "plan_rollout. Next: create_runbook."
    ),
    "create_runbook": (
        "Step 5: the deployment-day runbook: checklist, steps at minute offsets (T-30min, T, T+10min) "
        "with owners and commands, smoke tests, contacts (on-call), troubleshooting, follow-up; the "
        "schedule comes from plan_rollout. Field guide: prompt write_runbook. Next: link_release_entities."
    ),
    "record_decision": (
        "While the rollout runs: store a go, hold or rollback decision at the gate of the phase under "
        "way, with who decided, when, and the evidence (evaluate_gate's result as returned, or reasons). "
        "The release task moves in the same commit: inprogress, done after a go at the last phase, "
        "cancelled on a rollback (name its procedure). Field guide: prompt run_gate_review."
    ),
}

LINK_DESCRIPTION = (
    "Step 6: link the release task to each of its artifacts (and to other Engram entities in `links`) "
    "so engram's graph finds the whole plan. Safe to repeat. Next: summarize_release."
)

RETIRE_DESCRIPTION = (
    "Retire what was stored by mistake: one artifact (kind; entity_id picks one of several) or, "
    "without kind, the whole release (its task becomes cancelled). Deletes the entities and their "
    "links; Engram keeps their version history. Ask the user first."
)

GET_DESCRIPTION = (
    "Read one release: artifacts with entity ids and revisions (pass one as expected_revision), "
    "links, the Markdown (trimmed; release://{version} has it all), missing kinds, warnings, next steps."
)

LIST_DESCRIPTION = (
    "List the stored releases, newest version first: version, name, status, target date, task id "
    "and which artifacts exist. Paged: pass next_cursor back as cursor."
)

SUMMARY_DESCRIPTION = (
    "The stakeholder summary of one release: scope per batch, rollout phases and duration, rollback "
    "readiness and confidence, as a paragraph with the key facts and warnings. Call it last."
)

EXPORT_DESCRIPTION = (
    "After plan_rollout: the rollout as an engine's configuration (read-only): unleash, launchdarkly or "
    "flagd flags per phase with nesting cohorts, an argo_rollouts Rollout, a flagger Canary; with "
    "warnings for what the engine cannot express."
)

EVALUATE_DESCRIPTION = (
    "While the rollout runs: judge one phase's gate from observed counts per arm (read-only): the "
    "sample ratio against the planned split, the halt thresholds, then the gate's effect at the alpha "
    "spent at this look. Says go, rollback, or hold with the exposures each arm still needs. Pass the "
    "result to record_decision as evidence."
)

STATUS_DESCRIPTION = (
    "While the rollout runs: where a release stands: the phase under way, the next gate and when it is "
    "due, the decisions so far, each phase's state, and what is late against the timeline."
)

RUN_INSTRUCTIONS = """

While the rollout runs: get_release_status, evaluate_gate on the phase's observed data, then
record_decision (go, hold or rollback); the prompt run_gate_review walks through it."""

NO_RUN_INSTRUCTIONS = """

Running a rollout (gate evaluation, go/no-go decisions, status) is a toolset this server does not
list: the user can start it with --toolsets default,run."""

INSTRUCTIONS = """\
Plans software releases and stores every artifact in Engram (the git-backed knowledge graph), where
people and other agents find them later with the `engram` CLI.

Plan a release in this order, one tool call per step, all for the same version:
1. create_release_plan - scope, goals, feature batches, breaking changes, dependencies, risks. Always
   first: it creates the release task the other artifacts hang on.
2. design_migration_path - once per breaking change (skip if there are none).
3. design_rollback - triggers and procedures to undo the release.
4. plan_rollout - phases with traffic percentages, criteria and a halt threshold.
5. create_runbook - the deployment day procedure.
6. link_release_entities - links the release task to every artifact (safe to repeat).
Then summarize_release for stakeholders, and export_rollout for the flag or delivery engine.

Every write returns the artifact (entity_id, revision), Markdown, warnings (fix them or tell the
user) and next_steps. Calling a write tool again for the same version updates that artifact in
place; pass the revision you read as expected_revision to avoid overwriting someone else's edit.
A refused call names each field at fault, what is valid and what to do next; nothing is stored.
Read with get_release_plan and list_release_plans. The prompt plan_release walks through the whole
skill, and each step's prompt is its field guide. Ask the user for facts you do not have; leave
optional fields out rather than inventing values."""


READ_ONLY_INSTRUCTIONS = """\
Reads software release plans stored in Engram (the git-backed knowledge graph): this server is
read-only (--read-only), so nothing can be planned or changed through it. get_release_plan shows one
release, list_release_plans lists them, summarize_release writes the stakeholder summary."""


def instructions(read_only: bool, runs: bool) -> str:
    """What the server tells the agent at the start, naming only tools it lists."""
    if read_only:
        return READ_ONLY_INSTRUCTIONS
    return INSTRUCTIONS + (RUN_INSTRUCTIONS if runs else NO_RUN_INSTRUCTIONS)
