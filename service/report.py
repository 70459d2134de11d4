"""The knowledge base as a markdown report, for pharmacist sign-off (``python -m service knowledge-report``)."""

from __future__ import annotations

from .knowledge import Knowledge


def _source(knowledge: Knowledge, source_id: str) -> str:
    if source_id not in knowledge.sources:
        return source_id
    source = knowledge.source(source_id)
    return f"[{source.label}]({source.url})" if source.url else source.label


def knowledge_report(knowledge: Knowledge) -> str:
    lines = [f"# Inotuzumab CDS knowledge base, version {knowledge.version}", ""]
    if knowledge.site:
        lines += [f"Site overrides in effect: **{knowledge.site}** (entries marked *site*).", ""]
    lines += ["Confidence: PI-Pfizer and FDA are label or FDA text; Secondary quotes the label through a third party; "
              "NOT-CONFIRMED could not be verified and is configurable; Policy is a site default where the label is "
              "silent.", "", "## Label text shown on cards", "", "| id | text | source |", "|---|---|---|"]
    lines += [f"| {t.id} | {t.text} | {_source(knowledge, t.source)} |" for t in knowledge.texts.values()]
    lines += ["", "## Thresholds, windows and policies", "", "| id | value | confidence | source | note |",
              "|---|---|---|---|---|"]
    for p in knowledge.policies.values():
        value = f"{p.value} {p.unit or ''}".strip()
        mark = " *site*" if p.site_modified else ""
        lines.append(f"| {p.id}{mark} | {value} | {p.confidence} | {_source(knowledge, p.source)} | {p.note or ''} |")
    lines += ["", "## Regimens", "", "| id | cycle length | doses (day: mg/m2) | source | note |", "|---|---|---|---|---|"]
    for r in knowledge.regimens.values():
        doses = ", ".join(f"D{day}: {mg}" for day, mg in r.doses)
        lines.append(f"| {r.id} | {r.cycle_length_days} d | {doses} | {_source(knowledge, r.source)} | {r.note or ''} |")
    lines += ["", "## Value sets", ""]
    for vs in knowledge.value_sets.values():
        mark = " *site*" if vs.site_modified else ""
        lines += [f"### {vs.id}{mark}", "", f"{vs.description}. Confidence: {vs.confidence}. "
                  f"Source: {_source(knowledge, vs.source)}.", ""]
        if vs.note:
            lines += [f"> {vs.note}", ""]
        if vs.codes:
            lines += ["| system | code | display |", "|---|---|---|"]
            lines += [f"| {system} | {code} | {vs.displays.get((system, code), '')} |"
                      for system, code in sorted(vs.codes)]
        else:
            lines.append("_No codes by default: configure them per site._")
        if vs.names:
            lines += ["", "Free-text names: " + ", ".join(vs.names)]
        lines.append("")
    return "\n".join(lines)
