"""Relapsed/refractory: clinical status, relapse codes, refractory codes, disease status, remission and courses."""

from __future__ import annotations

import dataclasses

import pytest

from service.assessment import Status
from tests.builders import SNOMED, concept, condition, medication_request, observation, patient
from tests.service.eligibility_support import KNOWLEDGE, criterion

DISEASE_STATUS = "97509-4"
WORSENED, FULL_REMISSION = "271299001", "103338009"


def rr(*resources, knowledge=KNOWLEDGE):
    return criterion("relapsedRefractory", patient(), *resources, knowledge=knowledge)


def b_all(**kw) -> dict:
    return condition("277571004", system=SNOMED, **kw)


def disease_status(value: str, **kw) -> dict:
    return observation(DISEASE_STATUS, valueCodeableConcept=concept(SNOMED, value), **kw)


def prior_dose(day: str) -> dict:
    return medication_request(status="completed", authored=day)


@pytest.mark.parametrize("status", ["relapse", "recurrence"])
def test_a_relapse_or_recurrence_clinical_status_on_the_all_diagnosis_is_met(status):
    result = rr(b_all(clinical=status, cond_id="dx"))
    assert result.status is Status.MET
    assert result.evidence == ("Condition/dx",) and status in result.detail


def test_the_icd10_relapse_code_is_met():
    result = rr(condition("C91.02", recorded="2026-10-15"))
    assert result.status is Status.MET and "C91.02" in result.detail and "2026-10-15" in result.detail


def test_c91_00_alone_is_never_refractory_and_says_why():
    result = rr(condition("C91.00"))
    assert result.status is Status.UNKNOWN
    assert KNOWLEDGE.text("eligibility-c9100-not-refractory") in result.notes
    assert "97509-4" in result.missing


def test_refractory_is_only_read_from_codes_the_site_configures():
    local = condition("REFRACTORY-ALL", system="urn:oid:1.2.3.9")
    assert rr(local).status is Status.UNKNOWN
    value_sets = dict(KNOWLEDGE.value_sets)
    vs = value_sets["refractory-diagnosis"]
    value_sets["refractory-diagnosis"] = dataclasses.replace(vs, codes=vs.codes | {("urn:oid:1.2.3.9", "REFRACTORY-ALL")})
    site = dataclasses.replace(KNOWLEDGE, value_sets=value_sets)
    result = rr(local, knowledge=site)
    assert result.status is Status.MET and result.detail.startswith("refractory")


def test_a_disease_status_showing_progression_is_met():
    result = rr(b_all(clinical="active"), disease_status(WORSENED, obs_id="ds-1"))
    assert result.status is Status.MET and "Observation/ds-1" in result.evidence


def test_a_disease_status_outside_its_window_is_absent_and_named():
    result = rr(b_all(clinical="active"), disease_status(WORSENED, when="2025-10-01", obs_id="ds-old"))
    assert result.status is Status.UNKNOWN
    assert any("Observation/ds-old" in note and "365 days" in note for note in result.notes)


def test_a_preliminary_disease_status_is_not_used():
    assert rr(disease_status(WORSENED, status="preliminary")).status is Status.UNKNOWN


@pytest.mark.parametrize("records", [
    [b_all(clinical="remission")],
    [condition("C91.01")],
    [b_all(clinical="active"), disease_status(FULL_REMISSION)],
])
def test_remission_with_no_relapse_since_and_no_course_is_not_met(records):
    result = rr(*records)
    assert result.status is Status.NOT_MET
    assert KNOWLEDGE.text("eligibility-remission-not-rr") in result.notes


def test_a_remission_after_the_relapse_is_not_met():
    result = rr(condition("C91.02", recorded="2026-03-01"), disease_status(FULL_REMISSION, when="2026-09-01"))
    assert result.status is Status.NOT_MET and "no relapse recorded since" in result.detail


def test_a_relapse_after_a_remission_is_met():
    result = rr(condition("C91.01", recorded="2025-01-10"), condition("C91.02", recorded="2026-10-15"))
    assert result.status is Status.MET and "after remission" in result.detail


def test_relapse_and_remission_on_the_same_day_are_unknown():
    result = rr(condition("C91.02", recorded="2026-10-15"), disease_status(FULL_REMISSION, when="2026-10-15"))
    assert result.status is Status.UNKNOWN and "disagree" in result.detail


def test_a_remission_code_with_a_relapse_status_contradicts_itself_and_is_unknown():
    assert rr(condition("C91.01", clinical="relapse")).status is Status.UNKNOWN


def test_a_relapse_code_marked_resolved_is_history_not_a_current_relapse():
    assert rr(condition("C91.02", clinical="resolved")).status is Status.UNKNOWN


def test_an_undated_remission_cannot_be_ordered_against_a_relapse():
    undated = {k: v for k, v in condition("C91.01", clinical="remission").items() if k != "recordedDate"}
    result = rr(undated, condition("C91.02"))
    assert result.status is Status.UNKNOWN and "undated" in result.detail


@pytest.mark.parametrize("verification", ["entered-in-error", "refuted"])
def test_an_entered_in_error_or_refuted_relapse_is_ignored(verification):
    assert rr(condition("C91.02", verification=verification)).status is Status.UNKNOWN


def test_another_patients_relapse_is_never_used():
    assert rr(condition("C91.02", patient_id="someone-else")).status is Status.UNKNOWN


def test_a_relapse_status_on_a_myeloid_leukemia_is_not_an_all_relapse():
    assert rr(condition("C92.00", clinical="relapse")).status is Status.UNKNOWN


def test_on_a_course_the_relapse_status_at_course_start_is_kept_despite_remission_on_the_course():
    chart = [condition("C91.02", recorded="2026-09-01"), prior_dose("2026-09-15"), prior_dose("2026-09-22"),
             disease_status(FULL_REMISSION, when="2026-11-01")]
    result = rr(*chart)
    assert result.status is Status.MET
    assert KNOWLEDGE.text("eligibility-on-course") in result.notes
    assert "course start, 2026-09-15" in result.detail
    without_course = rr(condition("C91.02", recorded="2026-09-01"), disease_status(FULL_REMISSION, when="2026-11-01"))
    assert without_course.status is Status.NOT_MET


def test_on_a_course_begun_in_remission_the_status_at_course_start_is_not_met():
    result = rr(condition("C91.01", recorded="2026-08-01"), prior_dose("2026-09-15"))
    assert result.status is Status.NOT_MET and "course start" in result.detail


def test_on_a_course_with_no_usable_start_date_a_remission_is_unknown():
    undated = {k: v for k, v in prior_dose("2026-09-15").items() if k != "authoredOn"}
    result = rr(condition("C91.01", recorded="2026-08-01"), undated)
    assert result.status is Status.UNKNOWN and "course started" in result.missing


def test_on_a_course_cd22_from_before_the_course_stays_usable_past_the_usual_window():
    chart = [condition("C91.02", recorded="2026-06-15"), observation("14017-8", value=85, unit="%", when="2026-07-01"),
             prior_dose("2026-09-15")]
    assert criterion("cd22", patient(), *chart).status is Status.MET
    assert criterion("cd22", patient(), *chart[:2]).status is Status.UNKNOWN
