"""Premedication before each inotuzumab dose: a corticosteroid, an antipyretic and an antihistamine (label 2.2).

Found among the draft orders and the active MedicationRequests by the knowledge value sets (codes, or names).
Under the adult age the corticosteroid dose of the pediatric study (methylprednisolone 1 mg/kg, at most 50 mg) is
computed from the weight; for adults the label names classes only, so no dose is invented. Orders are suggested
only from that computed dose or from a site premedication protocol configured in the knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..assessment import Severity
from ..knowledge import Knowledge, codings
from ..patient import PatientRecord, reference_of
from .bsa import Measurement, pediatric_status, round_step

PREMED_CLASSES = ("corticosteroid", "antipyretic", "antihistamine")


@dataclass(frozen=True)
class PremedFound:
    kind: str                      # corticosteroid | antipyretic | antihistamine
    reference: str
    label: str
    where: str                     # "draft order" or "active order"


@dataclass(frozen=True)
class PremedOrder:
    """A premedication order the card may offer to create."""
    kind: str
    system: str
    code: str
    display: str
    dose_mg: float
    basis: str                     # the arithmetic, or "site protocol"
    text: str = ""


@dataclass(frozen=True)
class Premedication:
    order_reference: str
    patient_id: str
    status: str                    # ordered | partial | missing
    found: tuple[PremedFound, ...]
    missing: tuple[str, ...]
    corticosteroid_dose_mg: float | None
    corticosteroid_basis: str | None
    suggestions: tuple[PremedOrder, ...]
    notes: tuple[str, ...]
    issues: tuple[tuple[str, Severity], ...]

    def to_json(self) -> dict:
        out: dict[str, Any] = {"status": self.status}
        if self.corticosteroid_dose_mg is not None:
            out["corticosteroidDoseMg"] = self.corticosteroid_dose_mg
        if self.missing:
            out["missing"] = list(self.missing)
        return out


def _premed_found(record: PatientRecord, knowledge: Knowledge, order_reference: str) -> list[PremedFound]:
    candidates = [(o, "draft order") for o in record.draft_orders if reference_of(o) != order_reference]
    candidates += [(m, "active order") for m in record.medication_requests if m.status == "active"]
    found = []
    for kind in PREMED_CLASSES:
        value_set = knowledge.vs(kind)
        for resource, where in candidates:
            concept, text = record.medication_concept(resource), record.medication_text(resource)
            if (concept is not None and value_set.matches(concept)) or value_set.matches_name(text):
                coded = [value_set.displays[pair] for pair in codings(concept) if pair in value_set.displays]
                found.append(PremedFound(kind, reference_of(resource), text or ", ".join(coded) or kind, where))
    return found


def _dose(value: float, unit: str, max_mg: float | None, weight: Measurement | None, step: float
          ) -> tuple[float | None, str]:
    if unit == "mg":
        return round_step(float(value), step), f"{value:g} mg"
    if weight is None:
        return None, "needs a weight within its window"
    raw = float(value) * weight.converted
    capped = min(raw, float(max_mg)) if max_mg is not None else raw
    cap = f", capped at {max_mg:g} mg" if capped < raw else ""
    return round_step(capped, step), f"{value:g} mg/kg x {weight.converted:.1f} kg = {raw:.2f} mg{cap}"


_AGE_GROUPS = {"adults": (False,), "children": (True,), "all": (True, False, None)}


def _protocol(knowledge: Knowledge, kind: str, weight: Measurement | None, pediatric: bool | None
              ) -> tuple[PremedOrder | None, str | None]:
    """The site protocol's order for ``kind`` (None when not configured) or why it cannot be used.

    An entry applies to adults unless it says ``appliesTo: children`` or ``all``: a flat adult dose must never be
    offered for a child, nor for a patient whose age is unknown.
    """
    entry = knowledge.value(f"premedication-protocol-{kind}")
    if not entry:
        return None, None
    try:
        system = knowledge.systems.get(entry.get("system", "rxnorm"), entry.get("system", "rxnorm"))
        code, display, unit = str(entry["code"]), str(entry["display"]), entry["unit"]
        if unit not in ("mg", "mg/kg") or float(entry["dose"]) <= 0 or not knowledge.vs(kind).has(system, code):
            raise ValueError
        if pediatric not in _AGE_GROUPS[entry.get("appliesTo", "adults")]:
            return None, f"the site protocol's {kind} is not for this patient's age group: no order is suggested"
        mg, basis = _dose(entry["dose"], unit, entry.get("maxMg"), weight, knowledge.value("dose-rounding-mg"))
    except (AttributeError, KeyError, TypeError, ValueError):
        return None, (f"the site premedication protocol for the {kind} is incomplete or names a drug outside the "
                      f"{kind} value set: no order is suggested")
    if mg is None:
        return None, f"the site protocol's {kind} dose {basis}: no order is suggested"
    return PremedOrder(kind, system, code, display, mg, f"site protocol: {basis}", str(entry.get("text", ""))), None


def _pediatric_steroid(knowledge: Knowledge, weight: Measurement | None
                       ) -> tuple[PremedOrder | None, bool, str | None]:
    """(the pediatric corticosteroid order, whether the card may offer it, why not)."""
    per_kg = knowledge.value("pediatric-methylprednisolone-mg-per-kg")
    if weight is None:
        return None, False, (f"the pediatric corticosteroid dose ({per_kg:g} mg/kg) needs a weight within its "
                             "window: record a weight")
    drug = knowledge.value("pediatric-corticosteroid-drug")
    system = knowledge.systems.get(drug["system"], drug["system"])
    mg, basis = _dose(per_kg, "mg/kg", knowledge.value("pediatric-methylprednisolone-max-mg"), weight,
                      knowledge.value("dose-rounding-mg"))
    steroid = PremedOrder("corticosteroid", system, str(drug["code"]), drug["display"], mg, basis)
    if not knowledge.vs("corticosteroid").has(system, steroid.code):
        return steroid, False, ("the pediatric corticosteroid drug is not in the corticosteroid value set: no order "
                                "is suggested")
    return steroid, True, None


def assess_premedication(record: PatientRecord, knowledge: Knowledge, order, dosing: Any) -> Premedication | None:
    """Corticosteroid, antipyretic and antihistamine among draft and active orders; what to order if missing."""
    reference = reference_of(order)
    found = _premed_found(record, knowledge, reference)
    missing = tuple(kind for kind in PREMED_CLASSES if all(f.kind != kind for f in found))
    status = "ordered" if not missing else "missing" if len(missing) == len(PREMED_CLASSES) else "partial"
    pediatric = dosing.pediatric if dosing is not None else pediatric_status(record, knowledge)
    weight = dosing.weight if dosing is not None else None
    notes, suggestions, steroid, offer_steroid = [], [], None, False
    if pediatric:
        steroid, offer_steroid, note = _pediatric_steroid(knowledge, weight)
        notes += [note] if note else []
    elif pediatric is None:
        notes.append("the age is unknown or near the adult age: no pediatric corticosteroid dose is computed")
    for kind in missing:
        if kind == "corticosteroid" and pediatric:
            suggestion, note = (steroid if offer_steroid else None), None
        else:
            suggestion, note = _protocol(knowledge, kind, weight, pediatric)
        suggestions += [suggestion] if suggestion else []
        notes += [note] if note else []
    if missing and "active-medications" in record.unavailable:
        # Active orders could not be read: premedication may be ordered already, and a suggested order could
        # duplicate it. Say so rather than "missing".
        status, suggestions = "not-assessable", []
        notes.append("the patient's active medication orders could not be retrieved from the EHR, so "
                     "premedication ordered earlier cannot be seen; check before ordering")
    issues = (("premedication-missing", Severity.WARNING),) if missing else ()
    return Premedication(reference, record.patient_id, status, tuple(found), missing,
                         steroid.dose_mg if steroid else None, steroid.basis if steroid else None,
                         tuple(suggestions), tuple(notes), issues)
