"""The eligibility card: the verdict, each criterion with its value, date and record, and the label basis."""

from __future__ import annotations

from cds_hooks import Card, Indicator

from ..assessment import CRITERIA, Assessment, Status, Verdict
from ..knowledge import Knowledge
from .common import (cite, evidence, extension, label_link, label_source, override_reasons, summary,
                     unreadable_lines)

_TITLES = {"age": "Age", "diagnosis": "B-cell precursor ALL", "cd22": "CD22", "relapsedRefractory": "Relapsed/refractory"}
_SHORT = {"age": "age", "diagnosis": "B-ALL diagnosis", "cd22": "CD22", "relapsedRefractory": "R/R status"}
_MARK = {Status.MET: "met", Status.NOT_MET: "**not met**", Status.UNKNOWN: "_unknown_"}


def indicator(assessment: Assessment) -> Indicator:
    criteria = assessment.eligibility.criteria
    if any(c.critical and c.status is Status.NOT_MET for c in criteria.values()):
        return Indicator.CRITICAL
    return Indicator.INFO if assessment.verdict is Verdict.ELIGIBLE else Indicator.WARNING


def _summary(assessment: Assessment, knowledge: Knowledge) -> str:
    """Short, and says which criteria fail or are unknown; on patient-view it speaks of a possible candidate."""
    criteria = assessment.eligibility.criteria
    minimum = f"{knowledge.value('minimum-age-years'):g} year"
    name_only = " (recognised by name only)" if assessment.order and assessment.order.recognised_by == "name" else ""
    subject = "Inotuzumab" if assessment.order is not None else "Possible inotuzumab candidate"
    if any(c.critical and c.status is Status.NOT_MET for c in criteria.values()):
        return summary(f"Inotuzumab: patient under {minimum}, outside the label indication{name_only}")
    if assessment.verdict is Verdict.ELIGIBLE:
        return summary(f"{subject}: meets label criteria (R/R CD22+ B-cell precursor ALL, age >= {minimum}){name_only}")
    failed = [_SHORT[n] for n in CRITERIA if criteria[n].status is Status.NOT_MET]
    if failed:
        return summary(f"Inotuzumab outside the label indication: {', '.join(failed)} not met{name_only}")
    unknown = [_SHORT[n] for n in CRITERIA if criteria[n].status is Status.UNKNOWN]
    return summary(f"{subject}: indication not confirmed, data missing ({', '.join(unknown)}){name_only}")


def _cell(text: str) -> str:
    """Table cells must not break the markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def detail(assessment: Assessment, knowledge: Knowledge, extra: list[str] | tuple[str, ...] = ()) -> str:
    criteria = assessment.eligibility.criteria
    lines = [f"**Verdict: {assessment.verdict.value}**", "", "| Criterion | Status | Basis | Records |",
             "|---|---|---|---|"]
    for name in CRITERIA:
        c = criteria[name]
        lines.append(f"| {_TITLES[name]} | {_MARK[c.status]} | {_cell(c.detail)} | {evidence(c.evidence)} |")
    notes = list(dict.fromkeys(n for name in CRITERIA for n in criteria[name].notes)) + list(assessment.notes)
    if assessment.order is not None and assessment.order.recognised_by == "name":
        notes.append(f"The order was recognised by its name only ('{assessment.order.label}'): it carries no "
                     "inotuzumab code; check the order's medication coding.")
    missing = assessment.eligibility.missing()
    if missing:
        lines += ["", "**To settle it:** " + "; ".join(missing) + "."]
    if notes:
        lines += ["", *[f"- {note}" for note in notes]]
    lines += unreadable_lines(assessment)
    if extra:
        lines += ["", *extra]
    lines += ["", f"Indication: {knowledge.text('indication')} ({cite(knowledge, knowledge.texts['indication'].source)})",
              "", f"{knowledge.text('boxed-warning')} [Prescribing information]({label_link(knowledge).url})", "",
              f"Knowledge version {assessment.knowledge_version}."]
    return "\n".join(lines)


def eligibility_card(assessment: Assessment, knowledge: Knowledge, extra: tuple[str, ...] = ()) -> Card:
    """``extra``: markdown lines other parts of the order check add to this card's detail."""
    level = indicator(assessment)
    return Card(summary=_summary(assessment, knowledge), indicator=level, source=label_source(knowledge),
                detail=detail(assessment, knowledge, extra), links=(label_link(knowledge),),
                override_reasons=override_reasons(knowledge) if level is not Indicator.INFO else (),
                extension=extension(assessment))
