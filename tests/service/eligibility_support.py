"""Helpers for the eligibility tests: a PatientRecord from FHIR JSON, assessed with the real knowledge base."""

from __future__ import annotations

from datetime import datetime

from service.assessment import Eligibility
from service.knowledge import Knowledge, load_knowledge
from service.patient import PatientRecord, Relevance, build_record
from service.rules.course import build_course
from service.rules.eligibility import assess_eligibility
from tests.builders import NOW, PATIENT_ID

KNOWLEDGE = load_knowledge()


def record_of(*resources: dict, now: datetime = NOW, knowledge: Knowledge = KNOWLEDGE,
              orders: tuple[dict, ...] = ()) -> PatientRecord:
    return build_record(list(resources), list(orders), patient_id=PATIENT_ID, now=now,
                        relevance=Relevance.from_knowledge(knowledge))


def assess(*resources: dict, now: datetime = NOW, knowledge: Knowledge = KNOWLEDGE) -> Eligibility:
    record = record_of(*resources, now=now, knowledge=knowledge)
    return assess_eligibility(record, knowledge, build_course(record, knowledge))


def criterion(name: str, *resources: dict, now: datetime = NOW, knowledge: Knowledge = KNOWLEDGE):
    return assess(*resources, now=now, knowledge=knowledge).criteria[name]
