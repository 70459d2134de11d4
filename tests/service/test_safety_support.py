"""Builders and helpers for the safety tests (no tests here): records, course histories, findings by id."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml

from service.knowledge import load_knowledge
from service.patient import Relevance, build_record
from service.rules.course import build_course
from service.rules.safety import assess_safety
from tests.builders import (ICD10, NOW, PATIENT_ID, concept, condition, medication_request, observation,
                            subject)

SITE_DRUGS = "https://site.example/fhir/CodeSystem/drugs"
SITE_PROCEDURES = "https://site.example/fhir/CodeSystem/procedures"
BILIRUBIN, AST, ALT, ANC, PLATELETS, BLASTS, QTC, HCG = ("1975-2", "1920-8", "1742-6", "751-8", "777-3", "30376-8",
                                                         "8636-3", "2106-3")
SNOMED_POSITIVE, SNOMED_NEGATIVE = "10828004", "260385009"
V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


@pytest.fixture(scope="session")
def knowledge():
    return load_knowledge()


def site_knowledge(tmp_path, **sections):
    """Knowledge with a site override file, e.g. policy={"uln-ast-default": {"value": 40}}."""
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({"site": "Test site", "version": "1", **sections}), encoding="utf-8")
    return load_knowledge(site_file=path)


def days_ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def lab(code: str, value: float, unit: str, *, days: float = 1, high: float | None = None,
        high_unit: str | None = None, **extra) -> dict:
    """A lab Observation ``days`` before NOW; ``high`` adds a referenceRange with that upper limit."""
    resource = observation(code, value=value, unit=unit, when=days_ago(days), **extra)
    if high is not None:
        bound = {"value": high}
        if high_unit:
            bound |= {"unit": high_unit, "system": "http://unitsofmeasure.org", "code": high_unit}
        resource["referenceRange"] = [{"high": bound}]
    return resource


def coded_test(result: str | None = None, *, interpretation: str | None = None, days: float = 1, **extra) -> dict:
    """A pregnancy test with a SNOMED coded value and/or a v3 interpretation (POS/NEG)."""
    resource = observation(HCG, when=days_ago(days), **extra)
    if result:
        resource["valueCodeableConcept"] = concept("http://snomed.info/sct", result)
    if interpretation:
        resource["interpretation"] = [concept(V3, interpretation)]
    return resource


def procedure(code: str, status: str, *, system: str = SITE_PROCEDURES, when: str = "2025-03-01") -> dict:
    return {"resourceType": "Procedure", "id": f"proc-{code}-{status}", "status": status,
            "code": concept(system, code), "subject": subject(), "performedDateTime": when}


def service_request(code: str, status: str, *, system: str = SITE_PROCEDURES) -> dict:
    return {"resourceType": "ServiceRequest", "id": f"sr-{code}-{status}", "status": status, "intent": "order",
            "code": concept(system, code), "subject": subject(), "authoredOn": "2026-11-01"}


def history(*cycle_starts: date, doses_per_cycle: int = 3) -> list[dict]:
    """Completed inotuzumab requests on days 1, 8, 15 of each cycle start (the course the rules rebuild)."""
    doses = []
    for start in cycle_starts:
        for offset in (0, 7, 14)[:doses_per_cycle]:
            doses.append(medication_request(status="completed", authored=(start + timedelta(days=offset)).isoformat(),
                                            mr_id=f"dose-{start.isoformat()}-{offset}"))
    return doses


def cycle_starts(count: int) -> list[date]:
    """``count`` 28-day cycles ending so that NOW is day 1 of the next one."""
    return [NOW.date() - timedelta(days=28 * (count - i)) for i in range(count)]


def remission(recorded: str = "2026-11-20") -> dict:
    """ALL in remission (C91.01) recorded after the course start: response CR/CRi."""
    return condition("C91.01", system=ICD10, recorded=recorded, clinical="remission")


def record_of(knowledge, *resources: dict, drafts: tuple[dict, ...] = ()):
    return build_record(list(resources), list(drafts), patient_id=PATIENT_ID, now=NOW,
                        relevance=Relevance.from_knowledge(knowledge))


def assess(knowledge, *resources: dict, order: dict | None = None, drafts: tuple[dict, ...] = ()) -> dict:
    """Findings by check id for a record holding ``resources`` (and ``order`` as the draft being signed)."""
    all_drafts = tuple(drafts) + ((order,) if order is not None else ())
    record = record_of(knowledge, *resources, drafts=all_drafts)
    draft = next((d for d in record.draft_orders if order is not None and d.id == order["id"]), None)
    findings = assess_safety(record, knowledge, draft, build_course(record, knowledge), None)
    return {f.id: f for f in findings}


