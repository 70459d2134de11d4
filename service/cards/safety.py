"""The safety card: the label's checks before each dose, grouped into one card per order.

Rendering only: the rules decided each finding's status, severity, wording and which tests to order.
- indicator: the most severe flagged finding; flagged findings first, the most severe at the top;
- nothing when every check is ok; when no check is flagged but some are unknown (missing or stale labs), one
  ``info`` card lists them briefly with order suggestions, unless the site turns that off
  (policy ``safety-card-for-unknowns``): unknowns are never shown as alarms;
- ``only`` restricts the card to the given findings (patient-view passes its critical findings).
"""

from __future__ import annotations

from cds_hooks import Action, ActionType, Card, Indicator, SelectionBehavior, Suggestion

from ..assessment import Assessment, SafetyFinding, Severity
from ..knowledge import Knowledge
from ..rules.safety import CHECKS, LabOrder
from .common import evidence, extension, label_link, label_source, override_reasons, summary, unreadable_lines

TITLES = {"hepatic-function": "Liver tests", "vod-history": "VOD/SOS history", "prior-hsct": "Transplant (HSCT)",
          "blood-counts": "Blood counts", "peripheral-blasts": "Circulating blasts", "qt": "QT interval",
          "pregnancy": "Pregnancy", "treatment-course": "Treatment course"}
FLAGGED = {"hepatic-function": "liver tests above limit", "vod-history": "VOD/SOS history (discontinue)",
           "prior-hsct": "HSCT: VOD risk", "blood-counts": "low counts for new cycle",
           "peripheral-blasts": "blasts high: cytoreduce", "qt": "QT risk", "pregnancy": "positive pregnancy test",
           "treatment-course": "course limit"}


def _rank(finding: SafetyFinding) -> int:
    return (finding.severity or Severity.WARNING).rank


def _ordered(findings: list[SafetyFinding]) -> list[SafetyFinding]:
    """Most severe first, then the contract's order (stable and predictable for the reader)."""
    return sorted(findings, key=lambda f: (-_rank(f), CHECKS.index(f.id) if f.id in CHECKS else len(CHECKS)))


def _summary(flagged: list[SafetyFinding], unknown: list[SafetyFinding]) -> str:
    if flagged:
        more = f"; {len(unknown)} check(s) need data" if unknown else ""
        return summary(f"Inotuzumab safety: {', '.join(FLAGGED.get(f.id, f.id) for f in flagged)}{more}")
    names = ", ".join(TITLES.get(f.id, f.id).lower() for f in unknown)
    return summary(f"Inotuzumab safety: data needed before this dose ({names})")


def _first_sentence(text: str | None) -> str:
    text = text or ""
    cut = text.find(". ")
    return text if cut < 0 else text[:cut + 1]


def _detail(assessment: Assessment, flagged, unknown, ok, knowledge: Knowledge) -> str:
    lines = []
    for f in flagged:
        severity = (f.severity or Severity.WARNING).value
        lines += [f"**{TITLES.get(f.id, f.id)}** ({severity}): {f.detail}", f"Records: {evidence(f.evidence)}", ""]
    if unknown:
        lines.append("**Not assessable:**")
        lines += [f"- {TITLES.get(f.id, f.id)}: {_first_sentence(f.detail)}" for f in unknown]
        lines.append("")
    if ok:
        lines += ["No concern found: " + ", ".join(TITLES.get(f.id, f.id) for f in ok) + ".", ""]
    if assessment.notes:
        lines += [f"- {note}" for note in assessment.notes] + [""]
    lines += unreadable_lines(assessment)[1:]
    lines += ["", knowledge.text("boxed-warning"), "", f"Knowledge version {assessment.knowledge_version}."]
    return "\n".join(lines).strip().replace("\n\n\n", "\n\n")


def _service_request(order: LabOrder, vs_id: str, knowledge: Knowledge) -> dict:
    value_set = knowledge.vs(vs_id)
    coding = [{"system": system, "code": code, "display": value_set.displays[(system, code)]}
              for system, code in sorted(value_set.codes)]
    return {"resourceType": "ServiceRequest", "status": "draft", "intent": "order",
            "subject": {"reference": order.subject},
            "code": {"coding": coding, "text": value_set.description.split(" (")[0]},
            "note": [{"text": order.reason}]}


def _suggestions(findings: list[SafetyFinding], knowledge: Knowledge) -> tuple[Suggestion, ...]:
    """One suggestion per finding with a lab order; a test offered once even when two findings need it."""
    offered: set[str] = set()
    suggestions = []
    for finding in findings:
        order = finding.suggestion
        if not isinstance(order, LabOrder):
            continue
        wanted = [vs_id for vs_id in order.orders if vs_id not in offered and knowledge.vs(vs_id).codes]
        if not wanted:
            continue
        offered.update(wanted)
        actions = tuple(Action(ActionType.CREATE, f"Create a draft order: {knowledge.vs(v).description.split(' (')[0]}",
                               resource=_service_request(order, v, knowledge)) for v in wanted)
        suggestions.append(Suggestion(label=order.label, actions=actions))
    return tuple(suggestions)


def safety_card(assessment: Assessment, knowledge: Knowledge, only: list[SafetyFinding] | None = None) -> Card | None:
    findings = list(only) if only is not None else list(assessment.safety)
    flagged = _ordered([f for f in findings if f.status == "flagged"])
    unknown = [f for f in findings if f.status == "unknown"]
    ok = [f for f in findings if f.status == "ok"] if only is None else []
    if not flagged and not (unknown and knowledge.value("safety-card-for-unknowns") is True):
        return None
    level = Indicator((flagged[0].severity or Severity.WARNING).value) if flagged else Indicator.INFO
    suggestions = _suggestions(flagged + unknown, knowledge)
    return Card(summary=_summary(flagged, unknown), indicator=level, source=label_source(knowledge),
                detail=_detail(assessment, flagged, unknown, ok, knowledge), links=(label_link(knowledge),),
                suggestions=suggestions, selection_behavior=SelectionBehavior.ANY if suggestions else None,
                override_reasons=override_reasons(knowledge) if level is Indicator.CRITICAL else (),
                extension=extension(assessment))
