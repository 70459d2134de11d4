"""Answers that must not reassure: found in review, each reproduced here."""

from service.patient import Relevance, build_record
from service.rules.course import build_course
from service.rules.safety import assess_safety
from tests.builders import NOW, PATIENT_ID, SNOMED, condition, medication_request, observation, patient
from tests.service.eligibility_support import KNOWLEDGE, criterion

LOINC_CD22 = "14017-8"


def _record(*resources, unavailable=()):
    return build_record(list(resources), [], patient_id=PATIENT_ID, now=NOW,
                        relevance=Relevance.from_knowledge(KNOWLEDGE), unavailable=unavailable)


def _finding(findings, check_id):
    return next(f for f in findings if f.id == check_id)


def test_a_cd22_percentage_given_only_as_a_bound_is_never_positive():
    bounded = observation(LOINC_CD22, value=1, unit="%", when="2026-11-20")
    bounded["valueQuantity"]["comparator"] = "<"
    assert criterion("cd22", patient(), bounded).status.value != "met"


def test_narrative_cd22_below_a_bound_is_never_positive():
    report = observation("101119-6", when="2026-11-20", valueString="Blasts: CD19 positive, CD22 <1%, CD20 negative")
    assert criterion("cd22", patient(), report).status.value != "met"


def test_an_administration_and_its_request_are_one_dose_even_with_an_absolute_reference():
    request = medication_request(status="completed", authored="2026-11-10", mr_id="given-1")
    administration = {"resourceType": "MedicationAdministration", "id": "admin-1", "status": "completed",
                      "subject": {"reference": f"Patient/{PATIENT_ID}"},
                      "medicationCodeableConcept": request["medicationCodeableConcept"],
                      "effectiveDateTime": "2026-11-10T09:00:00Z",
                      "request": {"reference": "https://ehr.example.org/fhir/MedicationRequest/given-1"}}
    record = _record(request, administration)
    assert len(build_course(record, KNOWLEDGE).doses) == 1


def test_unknown_dose_history_makes_counts_and_blasts_unknown_not_ok():
    record = _record(patient(), observation("751-8", value=0.2, unit="10*9/L", when="2026-11-24"),
                     observation("777-3", value=10, unit="10*9/L", when="2026-11-24"),
                     unavailable={"inotuzumab-history"})
    findings = assess_safety(record, KNOWLEDGE, None, build_course(record, KNOWLEDGE), None)
    assert _finding(findings, "blood-counts").status == "unknown"
    assert _finding(findings, "peripheral-blasts").status == "unknown"


def test_unretrievable_diagnoses_make_vod_and_transplant_history_unknown_not_ok():
    record = _record(patient(), unavailable={"diagnoses", "transplants"})
    findings = assess_safety(record, KNOWLEDGE, None, build_course(record, KNOWLEDGE), None)
    assert _finding(findings, "vod-history").status == "unknown"
    assert _finding(findings, "prior-hsct").status == "unknown"


def test_an_old_relapse_does_not_outlive_a_later_remission_that_left_the_window():
    relapse = condition("C91.02", recorded="2023-03-01")
    remission = observation("97509-4", when="2025-06-01",
                            valueCodeableConcept={"coding": [{"system": SNOMED, "code": "550991000124107"}]})
    assert criterion("relapsedRefractory", patient(), relapse, remission).status.value == "unknown"


def test_a_dose_ordered_too_soon_after_the_last_one_is_a_dosing_warning(client):
    from tests.builders import bundle, hook_request

    given = medication_request(status="completed", authored="2026-11-23", mr_id="given-d1")
    order = medication_request(dose=0.5, dose_unit="mg/m2", mr_id="ino-now")
    prefetch = {"patient": patient("1990-01-01"), "inotuzumabHistory": bundle(given),
                "inotuzumabAdministrations": bundle(), "activeMedications": bundle(),
                "bodyMeasurements": bundle(observation("8302-2", value=170, unit="cm"),
                                           observation("29463-7", value=70, unit="kg", when="2026-11-24"))}
    cards = client.post("/cds-services/inotuzumab-order-check",
                        json=hook_request(orders=[order], prefetch=prefetch)).json["cards"]
    assert any("2 days after the last dose" in card["summary"] and card["indicator"] == "warning" for card in cards)


def test_a_provisional_b_all_diagnosis_does_not_meet_the_diagnosis_criterion():
    provisional = condition("277571004", system=SNOMED, verification="provisional")
    assert criterion("diagnosis", patient(), provisional).status.value == "unknown"
    confirmed = condition("277571004", system=SNOMED, verification="confirmed")
    assert criterion("diagnosis", patient(), confirmed).status.value == "met"
