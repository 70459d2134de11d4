"""Which draft orders are inotuzumab, and how each was recognised (by code, or by name only)."""

from __future__ import annotations

from .assessment import OrderInfo
from .knowledge import Knowledge
from .patient import PatientRecord, reference_of


def inotuzumab_orders(record: PatientRecord, knowledge: Knowledge) -> list[tuple[OrderInfo, object]]:
    """(OrderInfo, MedicationRequest) for each inotuzumab draft order; in order-select only the selections."""
    value_set = knowledge.vs("inotuzumab")
    found = []
    for order in record.draft_orders:
        reference = reference_of(order)
        if record.selections is not None and reference not in record.selections:
            continue
        concept = record.medication_concept(order)
        text = record.medication_text(order)
        if concept is not None and value_set.matches(concept):
            found.append((OrderInfo(reference, "code", text or "inotuzumab ozogamicin"), order))
        elif value_set.matches_name(text):
            found.append((OrderInfo(reference, "name", text), order))
    return found


def is_inotuzumab(record: PatientRecord, knowledge: Knowledge, resource) -> bool:
    """True for a MedicationRequest/MedicationAdministration of inotuzumab (by code or by name)."""
    value_set = knowledge.vs("inotuzumab")
    concept = record.medication_concept(resource)
    return (concept is not None and value_set.matches(concept)) or value_set.matches_name(
        record.medication_text(resource))
