"""The patient record the rules read: typed fhir.resources (R4B) models, built once per request.

Building it is where raw JSON stops. For every resource from prefetch, fetches and ``draftOrders``:
1. keep only the types and codes the rules use (checked on the raw JSON, before paying for validation);
2. keep only this patient's records: another patient's record in a Bundle is counted and never used;
3. validate with fhir.resources; a resource that fails is left out of the decision and listed in
   ``unreadable`` (type, id and the failing field, never its value) so the card can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.servicerequest import ServiceRequest

from .fhirdates import effective_time
from .knowledge import Knowledge, ValueSet, codings

MODELS = {"Patient": Patient, "Observation": Observation, "Condition": Condition,
          "MedicationRequest": MedicationRequest, "MedicationAdministration": MedicationAdministration,
          "Medication": Medication, "Procedure": Procedure, "ServiceRequest": ServiceRequest}
_UNDATED = datetime.min.replace(tzinfo=timezone.utc)
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([^/]+)(?:/_history/[^/]+)?$")

# Which value sets make a resource of each type relevant (the rest is skipped before validation).
OBSERVATION_SETS = ("body-height", "body-weight", "cd22-result", "immunophenotype-narrative", "disease-status",
                    "bilirubin-total", "ast", "alt", "anc", "platelets", "peripheral-blasts", "qtc",
                    "pregnancy-test")
CONDITION_SETS = ("b-all", "all-lineage-unstated", "t-all", "other-leukemia", "relapse-diagnosis",
                  "refractory-diagnosis", "response-cr-cri", "vod", "hsct-status")
MEDICATION_SETS = ("inotuzumab", "corticosteroid", "antipyretic", "antihistamine", "qt-prolonging-drugs")
PROCEDURE_SETS = ("hsct-procedure",)


@dataclass(frozen=True)
class Unreadable:
    reference: str   # "Observation/abc", or "Observation in prefetch" when it has no id
    reason: str      # the failing field and error kind, never the value


@dataclass(frozen=True)
class Relevance:
    """Code sets computed once from the knowledge base, used to skip irrelevant resources cheaply."""

    observation_codes: frozenset[tuple[str, str]]
    condition_codes: frozenset[tuple[str, str]]
    medication_codes: frozenset[tuple[str, str]]
    medication_names: tuple[str, ...]
    procedure_codes: frozenset[tuple[str, str]]

    @classmethod
    def from_knowledge(cls, knowledge: Knowledge) -> "Relevance":
        def union(ids: Iterable[str]) -> frozenset:
            return frozenset(code for vs_id in ids for code in knowledge.vs(vs_id).codes)
        names = tuple(n for vs_id in MEDICATION_SETS for n in knowledge.vs(vs_id).names)
        return cls(union(OBSERVATION_SETS), union(CONDITION_SETS), union(MEDICATION_SETS), names,
                   union(PROCEDURE_SETS))


@dataclass
class PatientRecord:
    patient_id: str
    now: datetime
    patient: Patient | None = None
    observations: list[Observation] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    medication_requests: list[MedicationRequest] = field(default_factory=list)   # history and active
    administrations: list[MedicationAdministration] = field(default_factory=list)
    procedures: list[Procedure] = field(default_factory=list)
    service_requests: list[ServiceRequest] = field(default_factory=list)
    medications: dict[str, Medication] = field(default_factory=dict)             # "Medication/id" -> model
    draft_orders: list[MedicationRequest] = field(default_factory=list)
    selections: frozenset[str] | None = None                                     # order-select focus
    unreadable: list[Unreadable] = field(default_factory=list)
    other_patients_ignored: int = 0
    # Kinds of data the EHR could not give us (see services.UNAVAILABLE_KINDS): their absence proves nothing.
    unavailable: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ queries the rules use

    def observations_in(self, value_set: ValueSet, *, statuses: Iterable[str] | None = None) -> list[Observation]:
        """Observations whose code (or a component's code) is in ``value_set``, newest first."""
        wanted = set(statuses) if statuses else None
        found = [o for o in self.observations
                 if (value_set.matches(o.code) or any(value_set.matches(c.code) for c in o.component or ()))
                 and (wanted is None or o.status in wanted)]
        return newest_first(found)

    def conditions_in(self, value_set: ValueSet) -> list[Condition]:
        """Conditions coded in ``value_set``, newest first, without entered-in-error or refuted ones."""
        return newest_first([c for c in self.conditions if value_set.matches(c.code) and usable_condition(c)])

    def medication_concept(self, resource: MedicationRequest | MedicationAdministration) -> Any:
        """The medication's CodeableConcept, following ``medicationReference`` to a known Medication."""
        if resource.medicationCodeableConcept is not None:
            return resource.medicationCodeableConcept
        reference = getattr(resource.medicationReference, "reference", None) or ""
        if reference.startswith("#"):
            for contained in resource.contained or ():
                if getattr(contained, "id", None) == reference[1:]:
                    return getattr(contained, "code", None)
        medication = self.medications.get(_relative(reference))
        return medication.code if medication is not None else None

    def medication_text(self, resource: MedicationRequest | MedicationAdministration) -> str:
        concept = self.medication_concept(resource)
        parts = [getattr(concept, "text", None) or ""] if concept is not None else []
        parts += [getattr(c, "display", None) or "" for c in getattr(concept, "coding", None) or ()]
        parts.append(getattr(resource.medicationReference, "display", None) or "")
        return " ".join(p for p in parts if p)


def usable_condition(condition: Condition) -> bool:
    verification = {code for _, code in codings(condition.verificationStatus)}
    return not verification & {"entered-in-error", "refuted"}


def newest_first(resources: list) -> list:
    return sorted(resources, key=lambda r: effective_time(r) or _UNDATED, reverse=True)


def _relative(reference: str) -> str:
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def reference_of(resource: Any) -> str:
    rid = getattr(resource, "id", None) if not isinstance(resource, dict) else resource.get("id")
    kind = resource.get("resourceType") if isinstance(resource, dict) else resource.get_resource_type()
    return f"{kind}/{rid}" if rid else f"{kind} (no id)"


# --------------------------------------------------------------------------- building

def _subject_id(raw: dict) -> str | None:
    for name in ("subject", "patient"):
        reference = raw.get(name)
        if isinstance(reference, dict) and isinstance(reference.get("reference"), str):
            match = _PATIENT_REF.search(reference["reference"])
            if match:
                return match.group(1)
    return None


def _raw_codes(concept: Any) -> set[tuple[str, str]]:
    return {(s or "", c or "") for s, c in codings(concept)} if isinstance(concept, dict) else set()


def _observation_relevant(raw: dict, rel: Relevance) -> bool:
    if _raw_codes(raw.get("code")) & rel.observation_codes:
        return True
    return any(_raw_codes(c.get("code")) & rel.observation_codes
               for c in raw.get("component") or () if isinstance(c, dict))


def _medication_relevant(raw: dict, rel: Relevance, raw_medications: dict[str, dict]) -> bool:
    concept = raw.get("medicationCodeableConcept")
    if concept is None:
        reference = (raw.get("medicationReference") or {}).get("reference") or ""
        medication = raw_medications.get(_relative(reference))
        if medication is None:
            return True  # cannot tell before resolving it: keep, the rules resolve it
        concept = medication.get("code")
    if not isinstance(concept, dict):
        return True  # malformed: keep so that validation reports it
    if _raw_codes(concept) & rel.medication_codes:
        return True
    text = " ".join([str(concept.get("text") or "")] +
                    [str(c.get("display") or "") for c in concept.get("coding") or () if isinstance(c, dict)]).lower()
    return any(name in text for name in rel.medication_names)


def _reason(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors(include_input=False)[0]
            location = ".".join(str(part) for part in first.get("loc", ()) if not str(part).startswith("function"))
            return f"invalid {location or 'resource'} ({first.get('type', 'error')})"
        except Exception:  # noqa: BLE001 - a reason must never fail the request
            pass
    return f"invalid resource ({type(exc).__name__})"


def build_record(resources: Iterable[dict], draft_orders: Iterable[dict], *, patient_id: str, now: datetime,
                 relevance: Relevance, selections: Iterable[str] | None = None,
                 extra_medications: Callable[[str], dict | None] | None = None,
                 unavailable: Iterable[str] = ()) -> PatientRecord:
    """Build the record from raw resources (prefetch and fetches) and the hook's draft orders."""
    record = PatientRecord(patient_id=patient_id, now=now,
                           selections=frozenset(selections) if selections is not None else None,
                           unavailable=frozenset(unavailable))
    raw_list = [r for r in resources if isinstance(r, dict)]
    drafts = [r for r in draft_orders if isinstance(r, dict)]
    raw_medications = {f"Medication/{r.get('id')}": r for r in raw_list + drafts
                       if r.get("resourceType") == "Medication" and r.get("id")}
    seen: set[str] = set()

    def validate(raw: dict, kind: str):
        try:
            return MODELS[kind].model_validate(raw)
        except Exception as exc:  # noqa: BLE001 - any failure makes the record unreadable, never a 500
            record.unreadable.append(Unreadable(reference_of(raw), _reason(exc)))
            return None

    for key, raw in raw_medications.items():
        model = validate(raw, "Medication")
        if model is not None:
            record.medications[key] = model

    for raw in raw_list:
        kind = raw.get("resourceType")
        if kind not in MODELS or kind == "Medication":
            continue
        identity = f"{kind}/{raw.get('id')}" if raw.get("id") else None
        if identity and identity in seen:
            continue  # the same record from two prefetch keys
        if kind == "Patient":
            if raw.get("id") == patient_id:
                record.patient = validate(raw, kind) or record.patient
            else:
                record.other_patients_ignored += 1
            if identity:
                seen.add(identity)
            continue
        if not _relevant(kind, raw, relevance, raw_medications):
            continue
        subject = _subject_id(raw)
        if subject != patient_id:
            if subject is None:
                record.unreadable.append(Unreadable(reference_of(raw), "no subject: cannot tell whose record it is"))
            else:
                record.other_patients_ignored += 1
            continue
        model = validate(raw, kind)
        if model is None:
            continue
        if identity:
            seen.add(identity)
        _bucket(record, kind).append(model)

    for raw in drafts:
        if raw.get("resourceType") != "MedicationRequest":
            continue  # other request types (ServiceRequest...) are not this service's concern
        subject = _subject_id(raw)
        if subject is not None and subject != patient_id:
            record.other_patients_ignored += 1
            continue
        model = validate(raw, "MedicationRequest")
        if model is not None:
            record.draft_orders.append(model)
    _resolve_missing_medications(record, extra_medications)
    return record


def _relevant(kind: str, raw: dict, rel: Relevance, raw_medications: dict) -> bool:
    if kind == "Observation":
        return _observation_relevant(raw, rel)
    if kind == "Condition":
        return bool(_raw_codes(raw.get("code")) & rel.condition_codes)
    if kind in ("MedicationRequest", "MedicationAdministration"):
        return _medication_relevant(raw, rel, raw_medications)
    if kind in ("Procedure", "ServiceRequest"):
        return bool(_raw_codes(raw.get("code")) & rel.procedure_codes)
    return False


def _bucket(record: PatientRecord, kind: str) -> list:
    return {"Observation": record.observations, "Condition": record.conditions,
            "MedicationRequest": record.medication_requests, "MedicationAdministration": record.administrations,
            "Procedure": record.procedures, "ServiceRequest": record.service_requests}[kind]


def _resolve_missing_medications(record: PatientRecord, fetch: Callable[[str], dict | None] | None) -> None:
    """Read ``Medication/x`` from the FHIR server for draft orders that reference an unknown Medication."""
    if fetch is None:
        return
    for order in record.draft_orders:
        reference = _relative(getattr(order.medicationReference, "reference", None) or "")
        if not reference.startswith("Medication/") or reference in record.medications:
            continue
        raw = fetch(reference)
        if raw is None:
            continue
        try:
            record.medications[reference] = Medication.model_validate(raw)
        except Exception as exc:  # noqa: BLE001
            record.unreadable.append(Unreadable(reference, _reason(exc)))
