"""The dosing card: BSA, per-dose mg, the order check, premedication, and one-click suggestions.

Rendered from ``assessment.dosing`` and ``assessment.premedication`` (rules/dosing.py); nothing is decided here.
No card when the rules found nothing to say (the order matches the label, premedication is ordered). The
indication and the boxed warning are the eligibility card's: they are not repeated here.
"""

from __future__ import annotations

import copy

from cds_hooks import Action, ActionType, Card, Indicator, SelectionBehavior, Suggestion

from ..assessment import Assessment
from ..fhirdates import fmt_date
from ..knowledge import Knowledge
from ..rules.dosing import UNDETERMINED, Dosing, Plan, PremedOrder, Premedication
from .common import SUMMARY_LIMIT, cite, extension, label_source, override_reasons, summary

UCUM = "http://unitsofmeasure.org"
HEADING = "**Dose and premedication check**"
_FORMULA_NAMES = {"mosteller": "Mosteller", "dubois": "Du Bois", "haycock": "Haycock",
                  "gehan-george": "Gehan and George"}
_PRIORITY = ("cycle-total-as-one-dose", "dose-too-soon", "above-label", "below-label", "bsa-not-assessable", "dose-not-assessable",
             "route-not-intravenous", "regimen-undetermined", "weight-change", "premedication-missing")


def _ordered(d: Dosing) -> str:
    check = d.check
    text = f"{check.ordered_value:g} {check.ordered_unit}"
    if check.ordered_mg_per_m2 is not None and check.ordered_unit not in ("mg/m2", "mg/m²"):
        text += f" ({check.ordered_mg_per_m2:.2f} mg/m²)"
    return text


def _expected(d: Dosing) -> str:
    low, high = d.check.expected_min_mg, d.check.expected_max_mg
    return f"{low:g} mg" if low == high else f"{low:g}-{high:g} mg"


def _to_record(d: Dosing) -> str:
    kinds = [kind for kind in ("height", "weight") if any(r.startswith(kind) for r in d.to_record)]
    return f"record a {' and a '.join(kinds)}" if kinds else "the BSA formula policy is not usable"


def _headline(issue: str, d: Dosing | None, p: Premedication | None) -> str:
    """One short sentence per finding, for the summary."""
    if issue == "cycle-total-as-one-dose":
        top = max(dose.mg_per_m2 for plan in d.plans for dose in plan.doses)
        return f"Inotuzumab {_ordered(d)} as one dose: a cycle total (single doses are at most {top:g} mg/m²)"
    if issue == "dose-too-soon":
        return (f"Inotuzumab {d.days_since_last_dose:.0f} days after the last dose: the label keeps doses at least "
                f"{d.min_days_between_doses:g} days apart")
    if issue in ("above-label", "below-label"):
        words = "above" if issue == "above-label" else "below"
        return f"Inotuzumab dose {words} label: {_ordered(d)} ordered, {_expected(d)} expected"
    if issue == "bsa-not-assessable":
        return f"Inotuzumab dose cannot be checked without a BSA: {_to_record(d)}"
    if issue == "dose-not-assessable":
        return f"Inotuzumab dose cannot be checked: {d.check.reason}"
    if issue == "route-not-intravenous":
        return f"Inotuzumab ordered by a non-IV route ({d.route.text}): intravenous infusion only"
    if issue == "regimen-undetermined":
        return "Inotuzumab dose depends on CR/CRi status, which is not recorded: confirm the regimen"
    if issue == "weight-change":
        return f"Weight changed {d.weight_change_percent:.0f}% since the previous one: confirm it before dosing"
    return f"Premedication not found for inotuzumab: {', '.join(p.missing)}"


def _findings(d: Dosing | None, p: Premedication | None) -> list[str]:
    issues = [i for i, _ in (d.issues if d else ())] + [i for i, _ in (p.issues if p else ())]
    return sorted(set(issues), key=_PRIORITY.index)


# --------------------------------------------------------------------------- detail

def _check_lines(d: Dosing, knowledge: Knowledge) -> list[str]:
    check = d.check
    tolerance = knowledge.value("dose-tolerance-percent")
    if check.ordered_value is None:
        return [f"**Ordered dose:** not readable: {check.reason}."]
    where = f"cycle {d.cycle}, day {d.day}" if d.cycle and d.day else "this dose (cycle or day unknown)"
    line = f"**Ordered dose:** {_ordered(d)}: **{check.status}**; {check.reason}."
    if check.expected_mg_per_m2:
        per_m2 = " or ".join(f"{v:g}" for v in check.expected_mg_per_m2)
        line += f" Expected for {where}: {per_m2} mg/m² = {_expected(d)}; tolerance {tolerance:g}% (site policy)."
    lines = [line]
    if check.cycle_total_as_one_dose:
        lines.append(f"A single dose at or above {knowledge.value('cycle-total-as-single-dose-mg-per-m2'):g} mg/m² "
                     "is a whole cycle's total given at once: the label divides it over days 1, 8 and 15.")
    if check.status == "below-label":
        lines.append(f"If the dose was reduced for toxicity: {knowledge.text('no-re-escalation')}")
    return lines


def _bsa_lines(d: Dosing, knowledge: Knowledge) -> list[str]:
    if d.bsa is None:
        lines = ["**BSA: not assessable.** What to record:"] + [f"- {reason}" for reason in d.to_record]
        if d.weight is not None:
            lines.append(f"- weight available: {d.weight.describe('kg')}")
        return lines
    bsa, c = d.bsa, d.bsa.constants
    name = _FORMULA_NAMES.get(bsa.formula, bsa.formula)
    policy = knowledge.policy("bsa-formula")
    chosen = "site-configured" if policy.site_modified else "site policy, the label names no formula"
    arithmetic = (f"{c['coefficient']:.6g} × {bsa.height.converted:.1f}^{c['heightExponent']:g} × "
                  f"{bsa.weight.converted:.2f}^{c['weightExponent']:g} = {bsa.exact_m2:.4f} m²")
    step = knowledge.value("bsa-rounding-m2")
    rounding = f", rounded to {step:g} m² (site policy)" if step else ""
    lines = [f"**BSA {bsa.value_m2:g} m²** by the {name} formula ({chosen}; {cite(knowledge, bsa.source)}): "
             f"{arithmetic}{rounding}.",
             f"- Height: {bsa.height.describe('cm')}", f"- Weight: {bsa.weight.describe('kg')}"]
    if d.weight_change_flagged:
        previous = d.previous_weight
        lines.append(f"- **Weight changed {d.weight_change_percent:.1f}%** since {previous.converted:.1f} kg on "
                     f"{fmt_date(previous.when)} (`{previous.reference}`), more than "
                     f"{knowledge.value('weight-change-percent'):g}% (site policy): confirm the weight.")
    return lines


def _plan_lines(plan: Plan, d: Dosing, knowledge: Knowledge) -> list[str]:
    size = f"{d.bsa.value_m2:g} m²" if d.bsa else "BSA unknown"
    lines = [f"_{plan.description}_ ({plan.cycle_length_days}-day cycle; {cite(knowledge, plan.source)})", "",
             f"| Day | mg/m² | mg for {size} | {knowledge.product['vialMg']['value']:g} mg vials |",
             "|---|---|---|---|"]
    for dose in plan.doses:
        mark = " ← this order" if dose.day == d.day and d.regimen != UNDETERMINED else ""
        mg = f"{dose.mg:g}" if dose.mg is not None else "-"
        vials = str(dose.vials) if dose.vials is not None else "-"
        lines.append(f"| {dose.day}{mark} | {dose.mg_per_m2:g} | {mg} | {vials} |")
    return lines + [""]


def _regimen_lines(d: Dosing, knowledge: Knowledge) -> list[str]:
    where = f"cycle {d.cycle}, day {d.day}" if d.cycle and d.day else "cycle and day unknown"
    if d.regimen == UNDETERMINED:
        head = (f"**Regimen: undetermined** ({where}; {d.regimen_basis}). Record the response (CR/CRi or not) "
                "to settle it; both options:")
    else:
        head = f"**Regimen:** {where} ({d.regimen_basis})."
    lines = [head, ""]
    for plan in d.plans:
        lines += _plan_lines(plan, d, knowledge)
    step = knowledge.value("dose-rounding-mg")
    lines.append(f"mg = mg/m² × BSA, rounded to {step:g} mg (site policy; the label gives no rounding rule); "
                 f"one dose uses whole single-dose vials. {knowledge.text('bsa-basis')} "
                 f"{knowledge.text('pediatric-same-dose')}")
    return lines


def _premed_lines(p: Premedication, knowledge: Knowledge) -> list[str]:
    lines = [f"**Premedication: {p.status}.** {knowledge.text('premedication')}"]
    lines += [f"- {f.kind}: {f.label} ({f.where}, `{f.reference}`)" for f in p.found]
    offered = {s.kind for s in p.suggestions}
    for kind in p.missing:
        tail = "an order is suggested below" if kind in offered else "required; order it per local protocol"
        lines.append(f"- {kind}: **not found**; {tail}")
    if p.corticosteroid_dose_mg is not None:
        lines.append(f"- Corticosteroid dose for this child: {p.corticosteroid_dose_mg:g} mg "
                     f"({p.corticosteroid_basis}). {knowledge.text('premedication-pediatric')} "
                     f"({cite(knowledge, 'fda-pediatric-2024')})")
    lines += [f"- Note: {note}." for note in p.notes]
    return lines


def _route_lines(d: Dosing, knowledge: Knowledge) -> list[str]:
    if d.route.status == "other":
        return [f"**Route on the order: {d.route.text}.** {knowledge.text('iv-only')}"]
    if d.route.status == "not-stated":
        return [f"The order states no route. {knowledge.text('iv-only')}"]
    return []


def detail(assessment: Assessment, knowledge: Knowledge) -> str:
    d, p = assessment.dosing, assessment.premedication
    reference = d.order_reference if d else (p.order_reference if p else "")
    lines = [f"{HEADING} for `{reference}`", ""]
    lines += [f"- {_headline(issue, d, p)}" for issue in _findings(d, p)] + [""]
    if d is not None:
        lines += _check_lines(d, knowledge) + [""] + _bsa_lines(d, knowledge) + [""] + _regimen_lines(d, knowledge)
        lines += ["", f"**Administration:** {knowledge.text('administration')} {knowledge.text('dose-timing')}"]
        lines += _route_lines(d, knowledge)
    if p is not None:
        lines += [""] + _premed_lines(p, knowledge)
    lines += ["", f"Knowledge version {assessment.knowledge_version}."]
    return "\n".join(lines)


# --------------------------------------------------------------------------- suggestions

def corrected_order(d: Dosing) -> dict | None:
    """The whole draft order (same id) with its first doseQuantity set to the calculated mg, or None."""
    mg = d.check.suggested_mg
    if mg is None or d.check.status not in ("above-label", "below-label") or not d.order_json.get("id"):
        return None
    resource = copy.deepcopy(d.order_json)
    for instruction in resource.get("dosageInstruction") or ():
        for dose_rate in instruction.get("doseAndRate") or ():
            if "doseQuantity" in dose_rate:
                dose_rate["doseQuantity"] = {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}
                return resource
    return None


def _dose_suggestion(d: Dosing | None) -> list[Suggestion]:
    resource = corrected_order(d) if d is not None else None
    if resource is None:
        return []
    check = d.check
    arithmetic = f"{check.suggested_mg_per_m2:g} mg/m² × {d.bsa.value_m2:g} m²"
    return [Suggestion(label=f"Change the dose to {check.suggested_mg:g} mg ({arithmetic})", actions=(Action(
        ActionType.UPDATE, f"Update {d.order_reference}: dose {_ordered(d)} -> {check.suggested_mg:g} mg", resource),))]


def premedication_order(s: PremedOrder, p: Premedication) -> dict:
    """A draft MedicationRequest for one missing premedication, linked in its note to the inotuzumab order."""
    instruction = f"{s.display} {s.dose_mg:g} mg before the inotuzumab infusion" + (f"; {s.text}" if s.text else "")
    return {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
        "subject": {"reference": f"Patient/{p.patient_id}"},
        "medicationCodeableConcept": {"coding": [{"system": s.system, "code": s.code, "display": s.display}],
                                      "text": s.display},
        "dosageInstruction": [{"text": instruction, "doseAndRate": [{"doseQuantity": {
            "value": s.dose_mg, "unit": "mg", "system": UCUM, "code": "mg"}}]}],
        "note": [{"text": f"Premedication ({s.kind}) before inotuzumab ozogamicin, {p.order_reference} "
                          f"(label 2.2). Dose: {s.basis}."}],
    }


def _premed_suggestions(p: Premedication | None) -> list[Suggestion]:
    if p is None or not p.patient_id:
        return []
    return [Suggestion(label=f"Order {s.kind}: {s.display} {s.dose_mg:g} mg ({s.basis})", actions=(Action(
        ActionType.CREATE, f"Create a draft {s.display} order before the inotuzumab dose",
        premedication_order(s, p)),)) for s in p.suggestions]


def dose_basis_lines(assessment: Assessment, knowledge: Knowledge) -> list[str]:
    """The dose check in brief, for the eligibility card when there is no dosing card (nothing to fix), so the
    pharmacist still sees the BSA and the arithmetic the order was checked with."""
    d = assessment.dosing
    if d is None or _findings(d, assessment.premedication):
        return []
    premed = assessment.premedication
    tail = [f"**Premedication: {premed.status}.**"] if premed is not None else []
    return [HEADING + ": nothing to change.", ""] + _check_lines(d, knowledge) + [""] + _bsa_lines(d, knowledge) + \
        ([""] + tail if tail else [])


def dosing_card(assessment: Assessment, knowledge: Knowledge) -> Card | None:
    d, p = assessment.dosing, assessment.premedication
    findings = _findings(d, p)
    if not findings:
        return None
    severities = [s for _, s in (d.issues if d else ())] + [s for _, s in (p.issues if p else ())]
    level = Indicator(max(severities, key=lambda s: s.rank).value)
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    suggestions = tuple(_dose_suggestion(d) + _premed_suggestions(p))
    headline = summary(_headline(findings[0], d, p) + more)
    if more and not headline.endswith(more):  # keep the count visible when the headline is cut
        headline = summary(_headline(findings[0], d, p))[:SUMMARY_LIMIT - len(more) - 1].rstrip() + "…" + more
    return Card(summary=headline, indicator=level,
                source=label_source(knowledge), detail=detail(assessment, knowledge), suggestions=suggestions,
                selection_behavior=SelectionBehavior.ANY if suggestions else None,
                override_reasons=override_reasons(knowledge) if level is not Indicator.INFO else (),
                extension=extension(assessment))
