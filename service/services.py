"""The inotuzumab CDS services: their discovery entries, prefetch templates, and the request pipeline.

Prefetch templates are derived from the knowledge base's value sets, so what discovery asks for cannot drift
from what the rules read. STU2 tokens only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from cds_hooks import HookRequest, HookResponse, Prefetched, ServiceRegistry

from .knowledge import Knowledge
from .patient import CONDITION_SETS, Relevance, build_record
from .pipeline import evaluate_chart, evaluate_orders

ORDER_SERVICE_ID = "inotuzumab-order-check"
SCREENING_SERVICE_ID = "inotuzumab-patient-screening"
PATIENT = "{{context.patientId}}"
# What a failed prefetch key means for the rules: the record says the kind of data is unavailable, so that
# its absence is never read as "none" (e.g. no inotuzumab history must not mean cycle 1).
UNAVAILABLE_KINDS = {"inotuzumabHistory": "inotuzumab-history", "inotuzumabAdministrations": "inotuzumab-history",
                     "activeMedications": "active-medications", "diagnoses": "diagnoses",
                     "transplants": "transplants", "plannedTransplants": "transplants"}


def _search(resource: str, knowledge: Knowledge, value_sets: tuple[str, ...], extra: str = "",
            sort: str | None = "-date") -> str | None:
    tokens = knowledge.tokens(*value_sets)
    if not tokens:
        return None  # nothing configured to ask for: no key, rather than an unfiltered search
    query = f"{resource}?patient={PATIENT}&code={','.join(tokens)}{extra}"
    return query + (f"&_sort={sort}" if sort else "")


def prefetch_templates(knowledge: Knowledge, *, orders: bool) -> dict[str, str]:
    templates = {
        "patient": f"Patient/{PATIENT}",
        "diagnoses": _search("Condition", knowledge, CONDITION_SETS, sort="-recorded-date"),
        "leukemiaMarkers": _search("Observation", knowledge,
                                   ("cd22-result", "immunophenotype-narrative", "disease-status")),
        "inotuzumabHistory": _search("MedicationRequest", knowledge, ("inotuzumab",), sort="-authoredon"),
        "inotuzumabAdministrations": _search("MedicationAdministration", knowledge, ("inotuzumab",),
                                             sort="-effective-time"),
    }
    if orders:
        templates |= {
            "bodyMeasurements": _search("Observation", knowledge, ("body-height", "body-weight")),
            "labs": _search("Observation", knowledge, ("bilirubin-total", "ast", "alt", "anc", "platelets",
                                                       "peripheral-blasts", "qtc", "pregnancy-test")),
            "activeMedications": _search("MedicationRequest", knowledge,
                                         ("corticosteroid", "antipyretic", "antihistamine", "qt-prolonging-drugs"),
                                         extra="&status=active", sort="-authoredon"),
            "transplants": _search("Procedure", knowledge, ("hsct-procedure",)),
            "plannedTransplants": _search("ServiceRequest", knowledge, ("hsct-procedure",), sort=None),
        }
    else:
        templates["labs"] = _search("Observation", knowledge, ("pregnancy-test",))
    return {key: query for key, query in templates.items() if query}


def _draft_resources(request: HookRequest) -> list[dict]:
    bundle = request.context.get("draftOrders")
    if not isinstance(bundle, dict):
        return []
    return [e["resource"] for e in bundle.get("entry") or () if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def _may_order_inotuzumab(knowledge: Knowledge) -> Callable[[HookRequest], bool]:
    """Cheap pre-check on the raw draft orders: no candidate order means {"cards": []} with no fetching."""
    value_set = knowledge.vs("inotuzumab")

    def applies(request: HookRequest) -> bool:
        selections = set(request.context.get("selections") or ()) if request.hook == "order-select" else None
        for raw in _draft_resources(request):
            if raw.get("resourceType") != "MedicationRequest":
                continue
            if selections is not None and f"MedicationRequest/{raw.get('id')}" not in selections:
                continue
            concept = raw.get("medicationCodeableConcept")
            if not isinstance(concept, dict):
                return True  # a medicationReference (or something malformed): look closer
            names = " ".join([str(concept.get("text") or "")] + [str(c.get("display") or "")
                                                                  for c in concept.get("coding") or ()
                                                                  if isinstance(c, dict)])
            if value_set.matches(concept) or value_set.matches_name(names):
                return True
        return False
    return applies


def register_services(registry: ServiceRegistry, knowledge: Knowledge, clock: Callable[[], datetime]) -> None:
    relevance = Relevance.from_knowledge(knowledge)

    def record_for(request: HookRequest, data: Prefetched):
        # Medications named by draft orders' medicationReference arrive in ``data`` (read in the prefetch batch).
        selections = request.context.get("selections") if request.hook == "order-select" else None
        unavailable = {UNAVAILABLE_KINDS[key] for key in data.failures if key in UNAVAILABLE_KINDS}
        return build_record(data.resources(), _draft_resources(request), patient_id=request.patient_id or "",
                            now=clock(), relevance=relevance, selections=selections,
                            unavailable=unavailable)

    @registry.service(
        id=ORDER_SERVICE_ID, hooks=["order-select", "order-sign"],
        title="Inotuzumab ozogamicin (BESPONSA) order check",
        description="Checks an inotuzumab ozogamicin order against the label: indication (age >= 1 year, "
                    "relapsed/refractory CD22-positive B-cell precursor ALL), BSA-based dose for the cycle, "
                    "premedication, and the label's safety checks before each dose.",
        usage_requirements="Send MedicationRequests coded with RxNorm (or ATC). Prefetch or FHIR access to the "
                           "patient's conditions, height, weight, CD22 and disease-status results, liver tests, "
                           "blood counts and inotuzumab history is needed for a complete check.",
        prefetch=prefetch_templates(knowledge, orders=True), required_prefetch=frozenset({"patient"}),
        applies=_may_order_inotuzumab(knowledge))
    def order_check(request: HookRequest, data: Prefetched) -> HookResponse:
        return evaluate_orders(record_for(request, data), knowledge, dict(data.failures))

    @registry.service(
        id=SCREENING_SERVICE_ID, hook="patient-view",
        title="Inotuzumab ozogamicin (BESPONSA) candidate screening",
        description="When an ALL patient's chart opens, says whether the patient may be a candidate for "
                    "inotuzumab ozogamicin under its label, and shows critical safety findings. Silent otherwise.",
        usage_requirements="Prefetch or FHIR access to the patient's conditions and CD22/disease-status results.",
        prefetch=prefetch_templates(knowledge, orders=False), required_prefetch=frozenset({"patient"}))
    def screening(request: HookRequest, data: Prefetched) -> HookResponse:
        return evaluate_chart(record_for(request, data), knowledge, dict(data.failures))
