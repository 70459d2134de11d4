"""Small builders for FHIR R4 JSON and hook requests, so each test shows only the data it depends on."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timezone

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)   # the frozen evaluation time of the tests
PATIENT_ID = "pat-1"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
INOTUZUMAB_RXCUI = "1942954"

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def subject(patient_id: str = PATIENT_ID) -> dict:
    return {"reference": f"Patient/{patient_id}"}


def patient(birth_date: str | None = "2020-01-15", *, gender: str = "female", patient_id: str = PATIENT_ID,
            **extra) -> dict:
    resource = {"resourceType": "Patient", "id": patient_id, "gender": gender,
                "name": [{"family": "Testperson", "given": ["Alex"]}],
                "identifier": [{"system": "urn:oid:1.2.3.4", "value": "MRN-0000001"}], **extra}
    if birth_date is not None:
        resource["birthDate"] = birth_date
    return resource


def concept(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def observation(code: str, *, value: float | None = None, unit: str | None = None, when: str = "2026-11-20",
                system: str = LOINC, status: str = "final", patient_id: str = PATIENT_ID, obs_id: str | None = None,
                **extra) -> dict:
    resource = {"resourceType": "Observation", "id": obs_id or _id("obs"), "status": status,
                "code": concept(system, code), "subject": subject(patient_id), "effectiveDateTime": when, **extra}
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    return resource


def condition(code: str, *, system: str = ICD10, clinical: str | None = "active", recorded: str = "2026-10-01",
              verification: str | None = None, patient_id: str = PATIENT_ID, cond_id: str | None = None,
              **extra) -> dict:
    resource = {"resourceType": "Condition", "id": cond_id or _id("cond"), "code": concept(system, code),
                "subject": subject(patient_id), "recordedDate": recorded, **extra}
    if clinical:
        resource["clinicalStatus"] = concept("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical)
    if verification:
        resource["verificationStatus"] = concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", verification)
    return resource


def medication_request(code: str = INOTUZUMAB_RXCUI, *, system: str = RXNORM, status: str = "draft",
                       dose: float | None = None, dose_unit: str = "mg", authored: str | None = None,
                       patient_id: str = PATIENT_ID, mr_id: str | None = None, text: str | None = None,
                       **extra) -> dict:
    med = concept(system, code) if code else {}
    if text:
        med["text"] = text
    resource = {"resourceType": "MedicationRequest", "id": mr_id or _id("mr"), "status": status, "intent": "order",
                "subject": subject(patient_id), "medicationCodeableConcept": med, **extra}
    if authored:
        resource["authoredOn"] = authored
    if dose is not None:
        resource["dosageInstruction"] = [{"doseAndRate": [{"doseQuantity": {
            "value": dose, "unit": dose_unit, "system": UCUM, "code": dose_unit}}]}]
    return resource


def bundle(*resources: dict, bundle_type: str | None = "searchset") -> dict:
    result = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    if bundle_type:
        result["type"] = bundle_type
    return result


def hook_request(hook: str = "order-sign", *, orders: list[dict] | None = None, prefetch: dict | None = None,
                 patient_id: str = PATIENT_ID, selections: list[str] | None = None, **extra) -> dict:
    context: dict = {"userId": "Practitioner/prac-1", "patientId": patient_id}
    if hook in ("order-sign", "order-select"):
        context["draftOrders"] = bundle(*(orders or []), bundle_type="collection")
    if hook == "order-select":
        context["selections"] = selections or [f"MedicationRequest/{o['id']}" for o in orders or []]
    body = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, **extra}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body
