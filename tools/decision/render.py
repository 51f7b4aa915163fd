"""A decision as Markdown: the verdict, who and when, the phase, and the evidence in words."""

from __future__ import annotations

from typing import Any

from ..base import ReleaseContext
from ..markdown import bullets, escape_html
from ..results import GateEvidence
from .model import DecisionFields, phase_name, phase_number

_VERDICT = {"go": "GO", "hold": "HOLD", "rollback": "ROLLBACK"}


def title(spec: DecisionFields, rollout: Any) -> str:
    return f"Gate Decision: v{spec.version} - {phase_name(rollout, spec.phase)} - {spec.decision}"


def evidence_lines(evidence: GateEvidence) -> list[str]:
    lines = [f"evaluate_gate said **{evidence.decision}** at look {evidence.look} of {evidence.looks} "
             f"(alpha {evidence.alpha:.4g})"]  # fmt: skip
    if evidence.srm_p_value is not None:
        lines.append(f"sample-ratio check: p = {evidence.srm_p_value:.3g}")
    if evidence.effect is not None:
        e = evidence.effect
        lines.append(
            f"effect on the gate's metric, treatment minus control (rates as fractions): {e.estimate:+.4g} "
            f"[{e.ci_low:+.4g}, {e.ci_high:+.4g}]"
        )
    if evidence.more_per_arm:
        lines.append(f"{evidence.more_per_arm:,} more exposures per arm needed")
    lines += evidence.reasons
    return lines


def render(spec: DecisionFields, ctx: ReleaseContext) -> str:
    rollout = ctx.rollout
    n = phase_number(rollout, spec.phase)
    total = len(getattr(rollout, "phases", None) or [])
    parts = [f"# {title(spec, rollout)}", f"**Decision:** {_VERDICT[spec.decision]}"]
    where = f"phase {n} of {total}, {phase_name(rollout, spec.phase)}" if n else f"phase {spec.phase}"
    if n:
        where += f" ({rollout.phases[n - 1].percent:g}%)"
    parts.append(f"**Phase:** {where}\n**Decided by:** {spec.decided_by} at {spec.stamp()}")
    if spec.rollback_procedure:
        parts.append(f"**Rollback procedure:** {spec.rollback_procedure}")
    if spec.reasons:
        parts.append("## Reasons\n\n" + bullets(spec.reasons))
    if spec.evidence is not None:
        parts.append("## Evidence\n\n" + bullets(evidence_lines(spec.evidence)))
    return escape_html("\n\n".join(parts) + "\n")
