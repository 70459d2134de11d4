"""The patient record the rules read: typed fhir.resources (R4B) models, built once per request.

Building it is where raw JSON stops. For every resource from prefetch, fetches and ``draftOrders``:
1. keep only the types and codes the rules use (checked on the raw JSON, before paying for validation);
2. keep only this patient's records: another patient's record in a Bundle is counted and never used;
3. validate with fhir.resources; a resource that fails is left out of the decision and listed in
   ``unreadable`` (type, id and the failing field, never its value) so the card can name it.

Observations, the bulk of a long chart, are validated lazily: ``observations_in`` returns them newest first
and validates each one only when a rule reads that far (most rules read the newest result or two). So an
unreadable Observation is reported when a rule tried to read it, and one no rule needed costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Sequence

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
    bare_codes: frozenset[str] = frozenset()   # every code above without its system: a quick first reject

    @classmethod
    def from_knowledge(cls, knowledge: Knowledge) -> "Relevance":
        def union(ids: Iterable[str]) -> frozenset:
            return frozenset(code for vs_id in ids for code in knowledge.vs(vs_id).codes)
        names = tuple(n for vs_id in MEDICATION_SETS for n in knowledge.vs(vs_id).names)
        sets = (union(OBSERVATION_SETS), union(CONDITION_SETS), union(MEDICATION_SETS), union(PROCEDURE_SETS))
        bare = frozenset(code for pairs in sets for _, code in pairs)
        return cls(sets[0], sets[1], sets[2], names, sets[3], bare)


class Lazy(Sequence):
    """A read-only sequence computed from an iterator on demand: indexing or iterating only as far as needed."""

    def __init__(self, items: Iterable):
        self._source = iter(items)
        self._done: list = []

    def _fill(self, count: int | None) -> None:
        while count is None or len(self._done) < count:
            try:
                self._done.append(next(self._source))
            except StopIteration:
                return

    def __iter__(self) -> Iterator:
        position = 0
        while True:
            if position >= len(self._done):
                self._fill(position + 1)
                if position >= len(self._done):
                    return
            yield self._done[position]
            position += 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            self._fill(None if index.stop is None or index.stop < 0 or (index.start or 0) < 0 else index.stop)
        else:
            self._fill(None if index < 0 else index + 1)
        return self._done[index]

    def __len__(self) -> int:
        self._fill(None)
        return len(self._done)

    def __bool__(self) -> bool:
        self._fill(1)
        return bool(self._done)

    def __add__(self, other) -> list:
        return list(self) + list(other)

    def __radd__(self, other) -> list:
        return list(other) + list(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, (list, tuple, Lazy)) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Lazy({self._done!r}{', ...' if self._source is not None else ''})"


@dataclass(frozen=True)
class _PendingObservation:
    raw: dict
    codes: frozenset[tuple[str, str]]   # the code's and every component code's (system, code)
    status: str | None
    when: datetime | None


@dataclass
class PatientRecord:
    patient_id: str
    now: datetime
    patient: Patient | None = None
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

    pending_observations: list[_PendingObservation] = field(default_factory=list, repr=False)
    _validated: dict[int, Observation | None] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ queries the rules use

    @property
    def observations(self) -> list[Observation]:
        """Every readable Observation (validates all of them: the rules use ``observations_in``)."""
        return [m for m in (self._observation(p) for p in self.pending_observations) if m is not None]

    def observations_in(self, value_set: ValueSet, *, statuses: Iterable[str] | None = None) -> Lazy:
        """Observations whose code (or a component's code) is in ``value_set``, newest first, validated lazily."""
        wanted = set(statuses) if statuses else None
        candidates = [p for p in self.pending_observations
                      if p.codes & value_set.codes and (wanted is None or p.status in wanted)]
        candidates.sort(key=lambda p: p.when or _UNDATED, reverse=True)
        return Lazy(m for m in (self._observation(p) for p in candidates) if m is not None)

    def _observation(self, pending: _PendingObservation) -> Observation | None:
        key = id(pending.raw)
        if key not in self._validated:
            self._validated[key] = _validate(self, pending.raw, "Observation")
        return self._validated[key]

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
        medication = self.medications.get(relative_reference(reference))
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


def relative_reference(reference: str) -> str:
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


def _has_code(concept: Any, codes: frozenset[tuple[str, str]], bare: frozenset[str]) -> bool:
    """Whether a raw CodeableConcept carries one of ``codes``: the hot path over every resource of a chart."""
    if not isinstance(concept, dict):
        return False
    coding_list = concept.get("coding")
    if not isinstance(coding_list, list):
        return False
    for coding in coding_list:
        if isinstance(coding, dict):
            code = coding.get("code")
            if isinstance(code, str) and code in bare and (coding.get("system"), code) in codes:
                return True
    return False


def _observation_relevant(raw: dict, rel: Relevance, _medications: dict | None = None) -> bool:
    if _has_code(raw.get("code"), rel.observation_codes, rel.bare_codes):
        return True
    components = raw.get("component")
    return isinstance(components, list) and any(
        _has_code(c.get("code"), rel.observation_codes, rel.bare_codes) for c in components if isinstance(c, dict))


def _medication_relevant(raw: dict, rel: Relevance, raw_medications: dict[str, dict]) -> bool:
    concept = raw.get("medicationCodeableConcept")
    if concept is None:
        reference = (raw.get("medicationReference") or {}).get("reference") or ""
        medication = raw_medications.get(relative_reference(reference))
        if medication is None:
            return True  # cannot tell before resolving it: keep, the rules resolve it
        concept = medication.get("code")
    if not isinstance(concept, dict):
        return True  # malformed: keep so that validation reports it
    if _has_code(concept, rel.medication_codes, rel.bare_codes):
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
        return _validate(record, raw, kind)

    for key, raw in raw_medications.items():
        model = validate(raw, "Medication")
        if model is not None:
            record.medications[key] = model

    for raw in raw_list:
        kind = raw.get("resourceType")
        if kind == "Patient":
            _take_patient(record, raw, validate)
            continue
        relevant = _RELEVANT.get(kind)
        if relevant is None or not relevant(raw, relevance, raw_medications):
            continue  # most of a long chart stops here, before any string is built or model validated
        identity = f"{kind}/{raw.get('id')}" if raw.get("id") else None
        if identity and identity in seen:
            continue  # the same record from two prefetch keys
        subject = _subject_id(raw)
        if subject != patient_id:
            if subject is None:
                record.unreadable.append(Unreadable(reference_of(raw), "no subject: cannot tell whose record it is"))
            else:
                record.other_patients_ignored += 1
            continue
        if kind == "Observation":
            record.pending_observations.append(_pending(raw))  # validated when a rule reads it
        else:
            model = validate(raw, kind)
            if model is None:
                continue
            _bucket(record, kind).append(model)
        if identity:
            seen.add(identity)

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
    return record


def _validate(record: PatientRecord, raw: dict, kind: str):
    try:
        return MODELS[kind].model_validate(raw)
    except Exception as exc:  # noqa: BLE001 - any failure makes the record unreadable, never a 500
        record.unreadable.append(Unreadable(reference_of(raw), _reason(exc)))
        return None


def _list(value: Any) -> list:
    """A raw JSON array, or nothing: malformed shapes are left for validation to report."""
    return value if isinstance(value, list) else []


def _pending(raw: dict) -> _PendingObservation:
    codes = _raw_codes(raw.get("code"))
    for component in _list(raw.get("component")):
        if isinstance(component, dict):
            codes |= _raw_codes(component.get("code"))
    status = raw.get("status") if isinstance(raw.get("status"), str) else None
    return _PendingObservation(raw, frozenset(codes), status, effective_time(raw))


def _take_patient(record: PatientRecord, raw: dict, validate) -> None:
    if raw.get("id") != record.patient_id:
        record.other_patients_ignored += 1
    elif record.patient is None:
        record.patient = validate(raw, "Patient")


def _coded(codes_of: str):
    def relevant(raw: dict, rel: Relevance, _medications: dict) -> bool:
        return _has_code(raw.get("code"), getattr(rel, codes_of), rel.bare_codes)
    return relevant


# Per resource type: is a raw resource one the rules could use? (checked before validation)
_RELEVANT = {
    "Observation": _observation_relevant,
    "Condition": _coded("condition_codes"),
    "MedicationRequest": _medication_relevant,
    "MedicationAdministration": _medication_relevant,
    "Procedure": _coded("procedure_codes"),
    "ServiceRequest": _coded("procedure_codes"),
}


def _bucket(record: PatientRecord, kind: str) -> list:
    return {"Condition": record.conditions,
            "MedicationRequest": record.medication_requests, "MedicationAdministration": record.administrations,
            "Procedure": record.procedures, "ServiceRequest": record.service_requests}[kind]
