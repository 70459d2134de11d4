"""One request's decision: record -> assessment(s) -> cards. Pure apart from the clock passed in."""

from __future__ import annotations

from cds_hooks import HookResponse

from .assessment import Assessment, Status
from .cards import order_cards, patient_view_cards
from .knowledge import Knowledge
from .orders import inotuzumab_orders
from .patient import PatientRecord
from .rules.course import build_course
from .rules.dosing import assess_dosing, assess_premedication
from .rules.eligibility import assess_eligibility
from .rules.safety import assess_safety


def _is_deceased(record: PatientRecord) -> bool:
    patient = record.patient
    return bool(patient is not None and (patient.deceasedBoolean or patient.deceasedDateTime))


def _base(record: PatientRecord, knowledge: Knowledge, course, failures: dict[str, str]) -> Assessment:
    assessment = Assessment(knowledge.version, assess_eligibility(record, knowledge, course))
    by_reason: dict[str, list[str]] = {}
    for key, reason in sorted(failures.items()):
        by_reason.setdefault(reason, []).append(key)
    assessment.notes = [f"Could not retrieve {', '.join(keys)} from the EHR ({reason}): what depends on it is unknown."
                        for reason, keys in by_reason.items()]
    return assessment


def evaluate_orders(record: PatientRecord, knowledge: Knowledge, failures: dict[str, str]) -> HookResponse:
    orders = inotuzumab_orders(record, knowledge)
    if not orders:
        return HookResponse(outcome="no-inotuzumab-order")
    if _is_deceased(record):
        return HookResponse(outcome="deceased")
    course = build_course(record, knowledge)
    cards, verdicts = [], []
    for info, order in orders:
        assessment = _base(record, knowledge, course, failures)
        assessment.order = info
        assessment.dosing = assess_dosing(record, knowledge, order, course)
        assessment.premedication = assess_premedication(record, knowledge, order, assessment.dosing)
        assessment.safety = assess_safety(record, knowledge, order, course, assessment.dosing)
        assessment.unreadable = _unreadable(record)  # after the rules: Observations are read lazily
        cards += order_cards(assessment, knowledge)
        verdicts.append(assessment.verdict.value)
    return HookResponse(cards=tuple(cards), outcome=",".join(sorted(set(verdicts))),
                        log_fields=_counts(record))


def evaluate_chart(record: PatientRecord, knowledge: Knowledge, failures: dict[str, str]) -> HookResponse:
    if _is_deceased(record):
        return HookResponse(outcome="deceased")
    course = build_course(record, knowledge)
    assessment = _base(record, knowledge, course, failures)
    assessment.safety = assess_safety(record, knowledge, None, course, None)
    assessment.unreadable = _unreadable(record)
    diagnosis = assessment.eligibility.criteria["diagnosis"]
    has_all = diagnosis.status is Status.MET or bool(
        record.conditions_in(knowledge.vs("all-lineage-unstated")) or record.conditions_in(knowledge.vs("b-all")))
    cards = patient_view_cards(assessment, knowledge, has_all_diagnosis=has_all)
    return HookResponse(cards=tuple(cards), outcome=assessment.verdict.value if has_all else "no-all-diagnosis",
                        log_fields=_counts(record))


def _unreadable(record: PatientRecord) -> list[str]:
    return [f"{u.reference}: {u.reason}" for u in record.unreadable]


def _counts(record: PatientRecord) -> dict:
    return {"unreadable": len(record.unreadable), "otherPatientsIgnored": record.other_patients_ignored}
