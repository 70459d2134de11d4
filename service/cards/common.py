"""Pieces every card shares: the label source, override reasons, the assessment extension, detail formatting."""

from __future__ import annotations

from cds_hooks import Coding, Link, Source

from ..assessment import EXTENSION_KEY, Assessment
from ..knowledge import Knowledge

SUMMARY_LIMIT = 139


def label_source(knowledge: Knowledge) -> Source:
    source = knowledge.source("fda-label")
    return Source(label=source.label.split(",")[0], url=source.url)


def label_link(knowledge: Knowledge) -> Link:
    source = knowledge.source("fda-label")
    return Link(label="BESPONSA prescribing information (DailyMed)", url=source.url)


def override_reasons(knowledge: Knowledge) -> tuple[Coding, ...]:
    value_set = knowledge.vs("override-reasons")
    return tuple(Coding(system, code, value_set.displays[(system, code)]) for system, code in sorted(value_set.codes))


def extension(assessment: Assessment) -> dict:
    return {EXTENSION_KEY: assessment.to_json()}


def cite(knowledge: Knowledge, source_id: str) -> str:
    """A short markdown citation for a knowledge source, with its confidence when it is not label text."""
    source = knowledge.source(source_id)
    label = f"[{source.label}]({source.url})" if source.url else source.label
    return label if source.confidence in ("PI-Pfizer", "FDA") else f"{label} ({source.confidence})"


def summary(text: str) -> str:
    """Cards must stay under 140 characters; rules keep them short, this is the last guard."""
    return text if len(text) <= SUMMARY_LIMIT else text[:SUMMARY_LIMIT - 1].rstrip() + "…"


def evidence(refs) -> str:
    return ", ".join(f"`{r}`" for r in refs) if refs else "no record"


def unreadable_lines(assessment: Assessment) -> list[str]:
    if not assessment.unreadable:
        return []
    return ["", "**Records left out (unreadable):** " + "; ".join(assessment.unreadable)]
