"""The eligibility card: the verdict, each criterion with its value, date and record, and the label basis."""

from __future__ import annotations

from cds_hooks import Card, Indicator

from ..assessment import CRITERIA, Assessment, Status, Verdict
from ..knowledge import Knowledge
from .common import (cite, evidence, extension, label_link, label_source, override_reasons, summary,
                     unreadable_lines)

_TITLES = {"age": "Age", "diagnosis": "B-cell precursor ALL", "cd22": "CD22", "relapsedRefractory": "Relapsed/refractory"}
_MARK = {Status.MET: "met", Status.NOT_MET: "**not met**", Status.UNKNOWN: "_unknown_"}


def indicator(assessment: Assessment) -> Indicator:
    criteria = assessment.eligibility.criteria
    if any(c.critical and c.status is Status.NOT_MET for c in criteria.values()):
        return Indicator.CRITICAL
    return Indicator.INFO if assessment.verdict is Verdict.ELIGIBLE else Indicator.WARNING


def _summary(assessment: Assessment) -> str:
    criteria = assessment.eligibility.criteria
    name_only = " (order recognised by name only)" if assessment.order and assessment.order.recognised_by == "name" else ""
    if assessment.verdict is Verdict.ELIGIBLE:
        return summary(f"Inotuzumab: meets label criteria (R/R CD22+ B-cell precursor ALL, age >= 1 y){name_only}")
    failed = [_TITLES[n] for n in CRITERIA if criteria[n].status is Status.NOT_MET]
    if failed:
        return summary(f"Inotuzumab not within the label indication: {', '.join(failed).lower()} not met")
    unknown = [_TITLES[n] for n in CRITERIA if criteria[n].status is Status.UNKNOWN]
    return summary(f"Inotuzumab: insufficient data to confirm the indication ({', '.join(unknown).lower()})")


def detail(assessment: Assessment, knowledge: Knowledge) -> str:
    criteria = assessment.eligibility.criteria
    lines = [f"**Verdict: {assessment.verdict.value}**", "", "| Criterion | Status | Basis | Records |",
             "|---|---|---|---|"]
    for name in CRITERIA:
        c = criteria[name]
        lines.append(f"| {_TITLES[name]} | {_MARK[c.status]} | {c.detail} | {evidence(c.evidence)} |")
    notes = [n for name in CRITERIA for n in criteria[name].notes] + list(assessment.notes)
    if assessment.order is not None and assessment.order.recognised_by == "name":
        notes.append(f"The order was recognised by its name only ('{assessment.order.label}'): it carries no "
                     "inotuzumab code; check the order's medication coding.")
    missing = assessment.eligibility.missing()
    if missing:
        lines += ["", "**To settle it:** " + "; ".join(missing) + "."]
    if notes:
        lines += ["", *[f"- {note}" for note in notes]]
    lines += unreadable_lines(assessment)
    lines += ["", f"Indication: {knowledge.text('indication')} ({cite(knowledge, knowledge.texts['indication'].source)})",
              "", knowledge.text("boxed-warning"), "", f"Knowledge version {assessment.knowledge_version}."]
    return "\n".join(lines)


def eligibility_card(assessment: Assessment, knowledge: Knowledge) -> Card:
    level = indicator(assessment)
    return Card(summary=_summary(assessment), indicator=level, source=label_source(knowledge),
                detail=detail(assessment, knowledge), links=(label_link(knowledge),),
                override_reasons=override_reasons(knowledge) if level is not Indicator.INFO else (),
                extension=extension(assessment))
