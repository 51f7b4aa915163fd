"""The release plan's own checks: versioning, feature batches and their dependency cycles, dependencies.

Plain functions over ``ReleasePlanFields``; ``check`` runs them all in the order findings are
reported. Rules that read another artifact of the release are review rules (``tools.review``).
"""

from __future__ import annotations

from ..base import Finding, error, warning
from ..common import release_type_of, semver_key, version_core
from .model import SCALE_LABEL, BreakingChange, Feature, ReleasePlanFields, plain_date


def check(spec: ReleasePlanFields) -> list[Finding]:
    """The plan's own findings: versioning, features, dependencies. Whether the target day is one the
    team works depends on the rollout's week: a review rule (``tools/review/calendar_rules.py``)."""
    findings: list[Finding] = []
    findings += _check_versioning(spec)
    findings += _check_features(spec)
    findings += _check_dependencies(spec)
    return findings


def _incompatible(spec: ReleasePlanFields) -> list[tuple[int, BreakingChange]]:
    return [(i, bc) for i, bc in enumerate(spec.breaking_changes) if not bc.backward_compatible]


def _check_versioning(spec: ReleasePlanFields) -> list[Finding]:
    out: list[Finding] = []
    by_number = release_type_of(spec.version)
    if by_number != spec.release_type:
        example = {"major": "x.0.0", "minor": "x.y.0", "patch": "x.y.z with z > 0"}[spec.release_type]
        out.append(
            error(
                "release_type_mismatch",
                f"version {spec.version} is a {by_number} release by its number, but release_type is "
                f"{spec.release_type!r}; set release_type to {by_number!r} or use a {example} version",
                "release_type",
            )
        )
    major = version_core(spec.version)[0]
    for i, bc in _incompatible(spec):
        if major == 0:
            out.append(
                warning(
                    "breaking_change_pre_1_0",
                    f"breaking change {bc.name!r} ships in {spec.version}; SemVer allows that before "
                    "1.0.0, but users of 0.x still need its migration path",
                    f"breaking_changes[{i}]",
                )
            )
        elif by_number != "major":
            next_major = f"{major + 1}.0.0"
            out.append(
                error(
                    "breaking_change_requires_major",
                    f"breaking change {bc.name!r} is not allowed in {by_number} release {spec.version} "
                    f"(SemVer: incompatible changes need a major version); release it in {next_major}, "
                    "defer it, or make it backward compatible",
                    f"breaking_changes[{i}]",
                )
            )
    seen: dict[str, int] = {}
    for i, bc in enumerate(spec.breaking_changes):
        key = bc.name.casefold()
        if key in seen:
            out.append(
                error(
                    "duplicate_breaking_change_name",
                    f"breaking change name {bc.name!r} is used twice (also "
                    f"breaking_changes[{seen[key]}]); migration paths refer to changes by name, so "
                    "give each a unique name",
                    f"breaking_changes[{i}].name",
                )
            )
        else:
            seen[key] = i
    return out


def _check_features(spec: ReleasePlanFields) -> list[Finding]:
    out: list[Finding] = []
    index = spec.feature_index()
    for i, f in enumerate(spec.features):
        first = index[f.name.casefold()]
        if first != i:
            out.append(
                error(
                    "duplicate_feature_name",
                    f"feature name {f.name!r} is used twice (also features[{first}]); names are compared "
                    "ignoring case, so rename or merge one",
                    f"features[{i}].name",
                )
            )
        for j, dep in enumerate(f.depends_on):
            field = f"features[{i}].depends_on[{j}]"
            target = index.get(dep.casefold())
            if target is None:
                out.append(
                    error(
                        "unknown_feature_dependency",
                        f"feature {f.name!r} depends on {dep!r}, which is not a feature of this plan; "
                        "add it to features or list it under prerequisites (external needs)",
                        field,
                    )
                )
                continue
            other = spec.features[target]
            if other.batch == "deferred" and f.batch == "must_have":
                out.append(
                    error(
                        "must_have_depends_on_deferred",
                        f"must-have feature {f.name!r} depends on deferred feature {other.name!r}; move "
                        f"{other.name!r} into this release or defer {f.name!r} too",
                        field,
                    )
                )
            elif other.batch == "deferred" and f.batch == "nice_to_have":
                out.append(
                    warning(
                        "nice_to_have_depends_on_deferred",
                        f"nice-to-have feature {f.name!r} depends on deferred feature {other.name!r}, so "
                        f"it cannot ship either; defer {f.name!r} or bring {other.name!r} back",
                        field,
                    )
                )
            elif other.batch == "nice_to_have" and f.batch == "must_have":
                out.append(
                    warning(
                        "must_have_depends_on_nice_to_have",
                        f"must-have feature {f.name!r} depends on nice-to-have {other.name!r}, which "
                        f"makes {other.name!r} a must-have in practice; move it to must_have",
                        field,
                    )
                )
        out += _check_feature_fields(spec, i, f)
    for cycle in _cycles(spec):
        names = [spec.features[k].name for k in cycle]
        out.append(
            error(
                "feature_dependency_cycle",
                f"features depend on each other in a cycle: {' -> '.join([*names, names[0]])}; "
                "remove one of these depends_on entries",
                f"features[{cycle[0]}].depends_on",
            )
        )
    return out


def _check_feature_fields(spec: ReleasePlanFields, i: int, f: Feature) -> list[Finding]:
    out: list[Finding] = []
    if f.batch == "deferred":
        if f.target_version is None:
            out.append(
                warning(
                    "deferred_without_target_version",
                    f"deferred feature {f.name!r} has no target_version; name the release it moves to, "
                    "e.g. the next minor version",
                    f"features[{i}].target_version",
                )
            )
        elif semver_key(f.target_version) <= semver_key(spec.version):
            out.append(
                warning(
                    "deferred_target_not_later",
                    f"deferred feature {f.name!r} targets {f.target_version}, which is not later than "
                    f"this release {spec.version}; set a later target_version",
                    f"features[{i}].target_version",
                )
            )
        return out
    if f.target_version is not None:
        out.append(
            warning(
                "target_version_on_included_feature",
                f"feature {f.name!r} is {f.batch} in this release but has target_version "
                f"{f.target_version}; remove target_version or set batch to deferred",
                f"features[{i}].target_version",
            )
        )
    if f.risk is None:
        out.append(
            warning(
                "unrated_feature_risk",
                f"feature {f.name!r} ships in this release without a risk rating; set risk "
                "(very_low ... very_high) so the rollout and rollback can be sized",
                f"features[{i}].risk",
            )
        )
    risky = [s for s in (f.risk, f.rollback_complexity) if s in ("high", "very_high")]
    if risky and f.flag is None:
        out.append(
            warning(
                "high_risk_feature_without_flag",
                f"feature {f.name!r} is rated {SCALE_LABEL[risky[0]].lower()} but has no feature flag; "
                "put it behind a flag (e.g. enable_<feature>) so it can be switched off without a deploy",
                f"features[{i}].flag",
            )
        )
    return out


def _cycles(spec: ReleasePlanFields) -> list[list[int]]:
    """Each back edge a DFS in input order meets gives one cycle (deterministic)."""
    edges = spec.edges()
    state = [0] * len(spec.features)  # 0 new, 1 on the current path, 2 finished
    cycles: list[list[int]] = []
    for root in range(len(spec.features)):
        if state[root]:
            continue
        path: list[int] = [root]
        iters = [iter(edges[root])]
        state[root] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state[nxt] == 1:
                cycles.append(path[path.index(nxt) :])
            elif state[nxt] == 0:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(edges[nxt]))
    return cycles


def _check_dependencies(spec: ReleasePlanFields) -> list[Finding]:
    out: list[Finding] = []
    for i, d in enumerate(spec.dependencies):
        if d.status == "blocked":
            out.append(
                warning(
                    "dependency_blocked",
                    f"dependency {d.name!r} is blocked; unblock it, drop the features that need it, or "
                    "move target_date",
                    f"dependencies[{i}].status",
                )
            )
        elif d.status == "pending":
            out.append(
                warning(
                    "dependency_pending",
                    f"dependency {d.name!r} has not started; give it an owner and a due date before "
                    f"{plain_date(spec.target_date)}",
                    f"dependencies[{i}].status",
                )
            )
        if d.status != "done" and d.due is not None and d.due > spec.target_date:
            out.append(
                warning(
                    "dependency_due_after_target",
                    f"dependency {d.name!r} is due {plain_date(d.due)}, after the target date "
                    f"{plain_date(spec.target_date)}; bring it forward or move target_date",
                    f"dependencies[{i}].due",
                )
            )
    return out
