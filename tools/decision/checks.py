"""A decision's own findings: it rests on evidence or reasons, and a rollback names its procedure."""

from __future__ import annotations

from ..base import Finding, error, warning
from .model import DecisionFields, norm


def check(spec: DecisionFields) -> list[Finding]:
    out: list[Finding] = []
    if not spec.reasons and spec.evidence is None:
        out.append(
            error(
                "decision_without_evidence",
                f"a {spec.decision} decision needs evidence: pass the evaluate_gate result as evidence, or "
                "say why in reasons",
                "reasons",
            )
        )
    if spec.decision == "rollback" and not spec.rollback_procedure:
        out.append(
            error(
                "rollback_without_procedure",
                "a rollback decision must name the rollback strategy's procedure used (its type, e.g. "
                "feature_flag or application)",
                "rollback_procedure",
            )
        )
    evidence = spec.evidence
    if evidence is None:
        return out
    if evidence.release != spec.version:
        out.append(
            error(
                "evidence_for_another_release",
                f"the evidence evaluates release {evidence.release}, not {spec.version}; pass the "
                "evaluate_gate result of this release",
                "evidence.release",
            )
        )
    same_phase = (
        evidence.phase_number == spec.phase
        if isinstance(spec.phase, int)
        else norm(evidence.phase) == norm(spec.phase) or str(evidence.phase_number) == spec.phase.strip()
    )
    if not same_phase:
        out.append(
            error(
                "evidence_for_another_phase",
                f"the evidence evaluates phase {evidence.phase_number} ({evidence.phase}), not "
                f"{spec.phase!r}; evaluate this phase's gate and pass that result",
                "evidence.phase",
            )
        )
    if evidence.decision != spec.decision:
        out.append(
            warning(
                "decision_overrides_evaluation",
                f"the gate evaluation says {evidence.decision} but the decision is {spec.decision}"
                + ("" if spec.reasons else "; say in reasons why the evaluation is overridden"),
                "decision",
            )
        )
    return out
