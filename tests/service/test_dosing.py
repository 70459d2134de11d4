"""The regimen for this dose, per-dose mg and vials, and the ordered single dose checked against the label.

The adult used throughout is 170 cm / 70 kg: Mosteller BSA 1.82 m2, so 0.8 mg/m2 = 1.456 -> 1.46 mg and
0.5 mg/m2 = 0.91 mg (rounded to 0.01 mg), each needing two 0.9 mg vials.
"""

from __future__ import annotations


import jsonschema
import pytest
import yaml

from service.assessment import Severity
from service.knowledge import load_knowledge
from service.patient import Relevance, build_record
from service.rules.course import build_course
from service.rules.dosing import UNDETERMINED, assess_dosing
from tests.builders import (NOW, PATIENT_ID, SNOMED, concept, condition, medication_request, observation,
                            patient)

KNOWLEDGE = load_knowledge()
from tests.contract import SCHEMA  # noqa: E402


def assessment_schema() -> dict:
    return SCHEMA

BODY = (observation("8302-2", value=170, unit="cm", when="2026-11-01"),
        observation("29463-7", value=70, unit="kg", when="2026-11-24"))


def order(dose=1.46, unit="mg", route=None, **extra):
    resource = medication_request(dose=dose, dose_unit=unit, mr_id="ino-1", **extra)
    if route is not None:
        resource.setdefault("dosageInstruction", [{}])[0]["route"] = route
    return resource


def dosing(the_order=None, *resources, body=BODY, birth="1990-05-01", knowledge=KNOWLEDGE):
    the_order = the_order if the_order is not None else order()
    record = build_record([patient(birth), *body, *resources], [the_order], patient_id=PATIENT_ID, now=NOW,
                          relevance=Relevance.from_knowledge(knowledge))
    return assess_dosing(record, knowledge, record.draft_orders[0], build_course(record, knowledge))


def given(*dates):
    return [medication_request(status="completed", authored=day, mr_id=f"prior-{day}") for day in dates]


CYCLE_1_DONE = given("2026-10-28", "2026-11-04", "2026-11-11")     # NOW (11-25) opens cycle 2, day 1
IN_REMISSION = condition("C91.01", recorded="2026-11-20", clinical="remission")
PROGRESSING = observation("97509-4", when="2026-11-20", valueCodeableConcept=concept(SNOMED, "271299001"))


def issues(result):
    return dict(result.issues)


# --------------------------------------------------------------------------- regimens

def test_first_dose_is_cycle_1_day_1_with_doses_for_this_bsa():
    result = dosing()
    assert (result.cycle, result.day, result.regimen) == (1, 1, "cycle-1")
    plan = result.plans[0]
    assert plan.cycle_length_days == 21
    assert [(d.day, d.mg_per_m2, d.mg, d.vials) for d in plan.doses] == [
        (1, 0.8, 1.46, 2), (8, 0.5, 0.91, 2), (15, 0.5, 0.91, 2)]


def test_a_dose_a_week_after_day_1_is_cycle_1_day_8():
    result = dosing(order(0.91), *given("2026-11-18"))
    assert (result.cycle, result.day, result.regimen) == (1, 8, "cycle-1")
    assert result.check.status == "matches-label"


def test_later_cycle_in_cr_or_cri_uses_0_5_mg_per_m2_on_day_1():
    result = dosing(order(0.91), *CYCLE_1_DONE, IN_REMISSION)
    assert (result.cycle, result.day, result.regimen) == (2, 1, "subsequent-cr-cri")
    assert [d.mg_per_m2 for d in result.plans[0].doses] == [0.5, 0.5, 0.5]
    assert result.plans[0].cycle_length_days == 28
    assert result.check.status == "matches-label"


def test_later_cycle_without_cr_or_cri_keeps_0_8_mg_per_m2_on_day_1():
    result = dosing(order(1.46), *CYCLE_1_DONE, PROGRESSING)
    assert result.regimen == "subsequent-no-cr-cri"
    assert [d.mg for d in result.plans[0].doses] == [1.46, 0.91, 0.91]
    assert result.check.status == "matches-label"


def test_day_1_dose_of_0_8_in_a_patient_in_cr_is_above_label():
    result = dosing(order(1.46), *CYCLE_1_DONE, IN_REMISSION)
    assert result.check.status == "above-label"
    assert result.check.suggested_mg == 0.91


def test_unknown_response_makes_the_regimen_undetermined_with_both_options():
    result = dosing(order(1.46), *CYCLE_1_DONE)
    assert result.regimen == UNDETERMINED
    assert [p.regimen for p in result.plans] == ["subsequent-cr-cri", "subsequent-no-cr-cri"]
    assert result.check.status == "matches-label"          # fits the no-CR/CRi option
    assert (result.check.expected_min_mg, result.check.expected_max_mg) == (0.91, 1.46)
    assert issues(result)["regimen-undetermined"] is Severity.WARNING
    assert "doses" not in result.to_json() and result.to_json()["regimen"] == "undetermined"


def test_undetermined_regimen_on_day_8_has_one_dose_and_no_warning():
    result = dosing(order(0.91), *CYCLE_1_DONE, *given("2026-11-18"))
    assert (result.cycle, result.day, result.regimen) == (2, 8, UNDETERMINED)
    assert result.check.expected_mg_per_m2 == (0.5,)
    assert "regimen-undetermined" not in issues(result)


def test_undetermined_regimen_dose_between_the_options_is_not_assessable():
    """0.65 mg/m2 fits neither 0.5 nor 0.8 (+/-10%) and the response that decides between them is unknown."""
    result = dosing(order(0.65, "mg/m2"), *CYCLE_1_DONE)
    assert result.check.status == "not-assessable"
    assert result.check.cause == "ambiguous"
    assert issues(result)["dose-not-assessable"] is Severity.WARNING


def test_undetermined_regimen_dose_above_both_options_is_above_label():
    result = dosing(order(1.2, "mg/m2"), *CYCLE_1_DONE)
    assert result.check.status == "above-label"
    assert result.check.suggested_mg is None                 # two options: no single dose to set


def test_earlier_doses_without_a_date_leave_cycle_and_day_unknown():
    undated = medication_request(status="completed", mr_id="prior-undated")
    result = dosing(order(0.91), undated)
    assert (result.cycle, result.day, result.regimen) == (None, None, UNDETERMINED)
    assert "prior-undated" in result.regimen_basis
    assert result.check.expected_mg_per_m2 == (0.5, 0.8)


def test_pediatric_regimen_is_the_same_per_m2():
    child = (observation("8302-2", value=110, unit="cm", when="2026-11-01"),
             observation("29463-7", value=20, unit="kg", when="2026-11-24"))
    result = dosing(order(0.62), body=child, birth="2020-01-15")
    assert result.pediatric is True
    assert [(d.mg_per_m2, d.mg, d.vials) for d in result.plans[0].doses] == [(0.8, 0.62, 1), (0.5, 0.39, 1),
                                                                             (0.5, 0.39, 1)]
    assert result.check.status == "matches-label"


# --------------------------------------------------------------------------- the order check

@pytest.mark.parametrize("dose, unit, status", [
    (1.46, "mg", "matches-label"),
    (1.6, "mg", "matches-label"),           # 0.879 mg/m2: within 10% of 0.8
    (1.7, "mg", "above-label"),             # 0.934 mg/m2
    (1.2, "mg", "below-label"),             # 0.659 mg/m2: under 0.72
    (0.8, "mg/m2", "matches-label"),
    (0.8, "mg/m²", "matches-label"),
    (1460, "ug", "matches-label"),
    (0.5, "mg/m2", "below-label"),
])
def test_ordered_dose_is_compared_with_the_day_1_dose(dose, unit, status):
    assert dosing(order(dose, unit)).check.status == status


def test_ordered_amounts_are_reported_in_mg_for_the_contract():
    check = dosing(order(0.8, "mg/m2")).check
    assert (check.ordered_mg, check.expected_min_mg, check.expected_max_mg) == (1.46, 1.46, 1.46)
    assert check.to_json() == {"status": "matches-label", "orderedMg": 1.46, "expectedMinMg": 1.46,
                               "expectedMaxMg": 1.46}


def test_above_label_is_a_warning_with_the_calculated_dose_to_suggest():
    result = dosing(order(2.0))
    assert result.check.status == "above-label"
    assert (result.check.suggested_mg, result.check.suggested_mg_per_m2) == (1.46, 0.8)
    assert issues(result)["above-label"] is Severity.WARNING
    assert "cycle-total-as-one-dose" not in issues(result)


def test_the_cycle_total_of_1_8_mg_per_m2_entered_as_one_dose_is_critical():
    result = dosing(order(1.8, "mg/m2"))
    assert result.check.status == "above-label"
    assert result.check.cycle_total_as_one_dose
    assert issues(result)["cycle-total-as-one-dose"] is Severity.CRITICAL
    assert result.check.ordered_mg == 3.28                    # 1.8 x 1.82 = 3.276


def test_a_cycle_total_entered_in_mg_is_critical_too():
    assert dosing(order(3.28)).check.cycle_total_as_one_dose          # 1.80 mg/m2
    assert not dosing(order(2.5)).check.cycle_total_as_one_dose       # 1.37 mg/m2: above label, not a cycle total


def test_a_cycle_total_in_mg_per_m2_is_critical_even_without_a_bsa():
    result = dosing(order(1.8, "mg/m2"), body=())
    assert result.check.status == "not-assessable" and result.check.cause == "bsa"
    assert issues(result)["cycle-total-as-one-dose"] is Severity.CRITICAL


def test_tolerance_comes_from_the_site_policy(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({"site": "t", "version": "1", "policy": {"dose-tolerance-percent": {"value": 5}}}))
    assert dosing(order(1.6), knowledge=load_knowledge(site_file=site)).check.status == "above-label"


@pytest.mark.parametrize("the_order, cause, words", [
    (medication_request(mr_id="ino-1"), "dose", "states no dose"),
    (order(3, "mL"), "unit", "'mL' is not readable"),
    (medication_request(mr_id="ino-1", dosageInstruction=[{"doseAndRate": [{"doseRange": {
        "low": {"value": 1, "unit": "mg"}, "high": {"value": 2, "unit": "mg"}}}]}]), "dose", "dose range"),
])
def test_an_order_without_a_readable_single_dose_is_not_assessable(the_order, cause, words):
    result = dosing(the_order)
    assert result.check.status == "not-assessable"
    assert result.check.cause == cause and words in result.check.reason
    assert issues(result)["dose-not-assessable"] is Severity.WARNING


def test_no_bsa_makes_the_order_check_not_assessable():
    result = dosing(order(1.46), body=BODY[:1])
    assert result.check.status == "not-assessable" and result.check.cause == "bsa"
    assert issues(result) == {"bsa-not-assessable": Severity.WARNING}


def test_a_matching_order_has_no_issues():
    assert dosing(order(1.46, route={"text": "IV"})).issues == ()


# --------------------------------------------------------------------------- route

@pytest.mark.parametrize("route, status", [
    ({"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route"}]}, "intravenous"),
    ({"text": "IV infusion over 1 hour"}, "intravenous"),
    ({"text": "Intravenous"}, "intravenous"),
    ({"text": "oral"}, "other"),
    ({"coding": [{"system": SNOMED, "code": "34206005", "display": "Subcutaneous route"}]}, "other"),
    ({"text": "intravitreal"}, "other"),
])
def test_route_is_intravenous_only_by_code_or_whole_word(route, status):
    result = dosing(order(1.46, route=route))
    assert result.route.status == status
    assert ("route-not-intravenous" in issues(result)) is (status == "other")


def test_an_order_without_a_route_is_not_flagged():
    result = dosing(order(1.46))
    assert result.route.status == "not-stated"
    assert result.issues == ()


# --------------------------------------------------------------------------- contract

@pytest.mark.parametrize("resources, the_order, body", [
    ((), order(1.46), BODY), ((), order(1.8, "mg/m2"), ()), (tuple(CYCLE_1_DONE), order(1.46), BODY),
    ((), medication_request(mr_id="ino-1"), BODY),
])
def test_dosing_json_is_valid_against_the_contract(resources, the_order, body):
    dosing_json = dosing(the_order, *resources, body=body).to_json()
    document = {"verdict": "insufficient-data", "knowledgeVersion": "x", "dosing": dosing_json,
                "criteria": {n: {"status": "unknown"} for n in ("age", "diagnosis", "cd22", "relapsedRefractory")}}
    jsonschema.Draft202012Validator(assessment_schema()).validate(document)
    assert None not in dosing_json.values()


def test_dosing_json_carries_bsa_inputs_and_their_records():
    bsa = dosing().to_json()["bsa"]
    assert bsa["valueM2"] == 1.82 and bsa["formula"] == "mosteller"
    assert (bsa["heightCm"], bsa["weightKg"]) == (170, 70)
    assert len(bsa["evidence"]) == 2 and all(e.startswith("Observation/") for e in bsa["evidence"])
