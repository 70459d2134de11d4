"""Eligibility: age (partial dates, birthdays, leap days), B-cell precursor ALL diagnosis, and the verdict."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from service.assessment import Status, Verdict
from tests.builders import SNOMED, condition, observation, patient
from tests.service.eligibility_support import KNOWLEDGE, assess, criterion

ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00").astimezone(timezone.utc)


def b_all(**kw) -> dict:
    return condition("277571004", system=SNOMED, **kw)


def eligible_chart() -> list[dict]:
    return [patient("2015-06-01"), b_all(clinical="relapse"), observation("14017-8", value=85, unit="%")]


# --------------------------------------------------------------------------- age

def test_a_child_whose_first_birthday_is_today_meets_the_age_criterion():
    age = criterion("age", patient("2025-11-25"))
    assert age.status is Status.MET
    assert "1 y" in age.detail and "2025-11-25" in age.detail
    assert age.evidence == ("Patient/pat-1",)


def test_a_child_one_day_short_of_one_year_is_not_met_and_critical():
    age = criterion("age", patient("2025-11-26"))
    assert age.status is Status.NOT_MET
    assert age.critical
    assert "11 months" in age.detail
    assert KNOWLEDGE.text("eligibility-under-one-year") in age.notes


def test_a_leap_day_baby_turns_one_on_the_first_of_march_in_a_common_year():
    assert criterion("age", patient("2024-02-29"), now=at("2025-02-28")).status is Status.NOT_MET
    assert criterion("age", patient("2024-02-29"), now=at("2025-03-01")).status is Status.MET


@pytest.mark.parametrize("birth, expected", [
    ("2024", Status.MET),          # 1 Jan .. 31 Dec 2024: at least 1 year old on 2026-11-25
    ("2025-10", Status.MET),       # born by 31 Oct 2025: 1 year old
    ("2025", Status.UNKNOWN),      # 0 or 1 year old depending on the day
    ("2025-11", Status.UNKNOWN),   # 1 to 30 Nov 2025 straddles the first birthday on 25 Nov 2026
    ("2026-01", Status.NOT_MET),   # under 1 year whatever the day
    ("2026", Status.NOT_MET),
])
def test_a_partial_birth_date_decides_only_when_its_whole_range_is_on_one_side(birth, expected):
    age = criterion("age", patient(birth))
    assert age.status is expected
    if expected is Status.UNKNOWN:
        assert birth in age.missing and "straddles" in age.detail
    if expected is Status.NOT_MET:
        assert age.critical


def test_a_missing_birth_date_is_unknown_and_asks_for_it():
    age = criterion("age", patient(None))
    assert age.status is Status.UNKNOWN
    assert "birthDate" in age.missing


def test_no_patient_record_is_unknown():
    age = criterion("age")
    assert age.status is Status.UNKNOWN and "no Patient record" in age.detail


def test_an_unreadable_birth_date_is_unknown_and_names_the_unreadable_patient():
    age = criterion("age", patient("2025-02-30"))
    assert age.status is Status.UNKNOWN
    assert "unreadable" in age.detail and "Patient/pat-1" in age.detail


def test_a_birth_date_in_the_future_is_unknown_never_an_age():
    age = criterion("age", patient("2027-03-01"))
    assert age.status is Status.UNKNOWN and "after" in age.detail


def test_another_patients_birth_date_in_the_bundle_is_never_used():
    age = criterion("age", patient(None), patient("2000-01-01", patient_id="someone-else"))
    assert age.status is Status.UNKNOWN


# --------------------------------------------------------------------------- diagnosis

@pytest.mark.parametrize("code, system", [("277571004", SNOMED), ("9811/3", ICDO3)])
def test_a_b_cell_all_code_meets_the_diagnosis(code, system):
    diagnosis = criterion("diagnosis", condition(code, system=system, cond_id="dx"))
    assert diagnosis.status is Status.MET
    assert diagnosis.evidence == ("Condition/dx",)
    assert code in diagnosis.detail and "2026-10-01" in diagnosis.detail


@pytest.mark.parametrize("code", ["C91.00", "C91.01", "C91.02"])
def test_an_all_code_without_lineage_alone_is_unknown_with_the_lineage_note(code):
    diagnosis = criterion("diagnosis", condition(code))
    assert diagnosis.status is Status.UNKNOWN
    assert KNOWLEDGE.text("eligibility-lineage-unstated") in diagnosis.notes
    assert "277571004" in diagnosis.missing


def test_an_all_code_without_lineage_plus_a_b_cell_code_is_met():
    assert criterion("diagnosis", condition("C91.02"), b_all()).status is Status.MET


@pytest.mark.parametrize("records", [
    [condition("9837/3", system=ICDO3)],
    [condition("9837/3", system=ICDO3), condition("C91.00")],
    [condition("C92.00")],
    [condition("C92.02"), b_all(verification="entered-in-error")],
])
def test_t_cell_all_or_a_non_all_leukemia_without_b_all_is_not_met(records):
    assert criterion("diagnosis", *records).status is Status.NOT_MET


def test_b_all_and_t_all_together_are_contradictory_and_unknown():
    diagnosis = criterion("diagnosis", b_all(), condition("9837/3", system=ICDO3))
    assert diagnosis.status is Status.UNKNOWN and "disagree" in diagnosis.detail


def test_an_unstated_all_code_with_a_myeloid_leukemia_is_unknown_not_a_verdict_either_way():
    assert criterion("diagnosis", condition("C91.00"), condition("C92.00")).status is Status.UNKNOWN


def test_b_all_with_another_leukemia_is_met_but_says_to_confirm():
    diagnosis = criterion("diagnosis", b_all(), condition("C92.00"))
    assert diagnosis.status is Status.MET
    assert any("Another leukemia" in note for note in diagnosis.notes)


@pytest.mark.parametrize("verification", ["entered-in-error", "refuted"])
def test_entered_in_error_and_refuted_diagnoses_are_ignored(verification):
    diagnosis = criterion("diagnosis", b_all(verification=verification))
    assert diagnosis.status is Status.UNKNOWN and "no leukemia diagnosis" in diagnosis.detail


def test_another_patients_b_all_diagnosis_is_never_used():
    assert criterion("diagnosis", b_all(patient_id="someone-else")).status is Status.UNKNOWN


def test_a_confirmed_diagnosis_is_still_met():
    assert criterion("diagnosis", b_all(verification="confirmed")).status is Status.MET


# --------------------------------------------------------------------------- verdict

def test_all_four_criteria_met_is_eligible():
    eligibility = assess(*eligible_chart())
    assert eligibility.verdict is Verdict.ELIGIBLE
    assert eligibility.missing() == []


def test_any_criterion_not_met_makes_the_patient_not_eligible_even_with_others_unknown():
    chart = [patient("2026-03-01"), condition("C91.00")]
    eligibility = assess(*chart)
    assert eligibility.verdict is Verdict.NOT_ELIGIBLE


def test_unknown_criteria_without_a_failure_give_insufficient_data_listing_what_is_missing():
    chart = [patient("2015-06-01"), b_all(clinical="relapse")]
    eligibility = assess(*chart)
    assert eligibility.verdict is Verdict.INSUFFICIENT
    assert len(eligibility.missing()) == 1 and "CD22" in eligibility.missing()[0]


def test_an_empty_chart_is_insufficient_data_and_names_all_four_missing_items():
    eligibility = assess(patient(None))
    assert eligibility.verdict is Verdict.INSUFFICIENT
    assert len(eligibility.missing()) == 4
