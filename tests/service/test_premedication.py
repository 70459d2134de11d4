"""Premedication before each dose: corticosteroid, antipyretic and antihistamine in draft or active orders.

Under 18 the corticosteroid dose of the pediatric study is computed (methylprednisolone 1 mg/kg, at most 50 mg);
adults get no invented dose; antipyretic and antihistamine orders are suggested only from a site protocol.
"""

from __future__ import annotations

import pytest
import yaml

from service.assessment import Severity
from service.knowledge import load_knowledge
from service.patient import Relevance, build_record
from service.rules.course import build_course
from service.rules.dosing import assess_dosing, assess_premedication
from tests.builders import NOW, PATIENT_ID, RXNORM, medication_request, observation, patient

KNOWLEDGE = load_knowledge()
ADULT, CHILD = "1990-05-01", "2018-03-01"


def body(weight_kg=70, height_cm=170):
    return [observation("8302-2", value=height_cm, unit="cm", when="2026-11-01"),
            observation("29463-7", value=weight_kg, unit="kg", when="2026-11-24")]


def drug(rxcui, *, status="draft", text=None, mr_id=None):
    return medication_request(rxcui, status=status, text=text, mr_id=mr_id or f"med-{rxcui or text}-{status}")


STEROID, ANTIPYRETIC, ANTIHISTAMINE = drug("3264"), drug("161"), drug("3498")


def premed(drafts=(), resources=(), *, birth=ADULT, measurements=None, knowledge=KNOWLEDGE):
    ino = medication_request(dose=1.46, dose_unit="mg", mr_id="ino-1")
    measured = body() if measurements is None else measurements
    record = build_record([patient(birth), *measured, *resources], [ino, *drafts], patient_id=PATIENT_ID, now=NOW,
                          relevance=Relevance.from_knowledge(knowledge))
    order = record.draft_orders[0]
    dosing = assess_dosing(record, knowledge, order, build_course(record, knowledge))
    return assess_premedication(record, knowledge, order, dosing)


def site(tmp_path, **protocols):
    path = tmp_path / "site.yaml"
    policy = {f"premedication-protocol-{kind}": {"value": value} for kind, value in protocols.items()}
    path.write_text(yaml.safe_dump({"site": "t", "version": "1", "policy": policy}))
    return load_knowledge(site_file=path)


def test_all_three_in_draft_orders_is_ordered():
    result = premed([STEROID, ANTIPYRETIC, ANTIHISTAMINE])
    assert (result.status, result.missing, result.issues) == ("ordered", (), ())
    assert {f.where for f in result.found} == {"draft order"}
    assert result.to_json() == {"status": "ordered"}


def test_active_orders_count_as_premedication():
    result = premed([ANTIPYRETIC], [drug("3264", status="active"), drug("28889", status="active")])
    assert result.status == "ordered"
    assert {(f.kind, f.where) for f in result.found} == {
        ("antipyretic", "draft order"), ("corticosteroid", "active order"), ("antihistamine", "active order")}


def test_stopped_or_completed_orders_do_not_count():
    result = premed([ANTIPYRETIC, ANTIHISTAMINE], [drug("3264", status="stopped"), drug("6902", status="completed")])
    assert (result.status, result.missing) == ("partial", ("corticosteroid",))


def test_partial_premedication_names_what_is_missing():
    result = premed([STEROID])
    assert (result.status, result.missing) == ("partial", ("antipyretic", "antihistamine"))
    assert dict(result.issues) == {"premedication-missing": Severity.WARNING}
    assert result.to_json() == {"status": "partial", "missing": ["antipyretic", "antihistamine"]}


def test_no_premedication_is_missing():
    result = premed()
    assert (result.status, result.missing) == ("missing", ("corticosteroid", "antipyretic", "antihistamine"))


def test_premedication_recognised_by_name_only():
    result = premed([drug("", text="Paracetamol 1 g tablet", mr_id="n-1"),
                     drug("", text="Dexamethasone 12 mg IV", mr_id="n-2"),
                     drug("", text="Loratadine 10 mg", mr_id="n-3")])
    assert result.status == "ordered"


def test_another_patients_premedication_is_never_used():
    other = medication_request("3264", status="active", patient_id="someone-else", mr_id="other-dex")
    result = premed([ANTIPYRETIC, ANTIHISTAMINE], [other])
    assert result.missing == ("corticosteroid",)


def test_adults_get_no_invented_corticosteroid_dose_or_suggestion():
    result = premed()
    assert result.corticosteroid_dose_mg is None
    assert result.suggestions == ()
    assert "corticosteroidDoseMg" not in result.to_json()


@pytest.mark.parametrize("weight_kg, dose, basis", [
    (8, 8, "1 mg/kg x 8.0 kg = 8.00 mg"),
    (23.4, 23.4, "1 mg/kg x 23.4 kg = 23.40 mg"),
    (50, 50, "1 mg/kg x 50.0 kg = 50.00 mg"),
    (62, 50, "1 mg/kg x 62.0 kg = 62.00 mg, capped at 50 mg"),
])
def test_children_get_methylprednisolone_1_mg_per_kg_capped_at_50_mg(weight_kg, dose, basis):
    result = premed(birth=CHILD, measurements=body(weight_kg, 120))
    assert result.corticosteroid_dose_mg == dose
    assert result.corticosteroid_basis == basis
    assert result.to_json()["corticosteroidDoseMg"] == dose


def test_missing_corticosteroid_in_a_child_is_suggested_as_methylprednisolone():
    result = premed([ANTIPYRETIC, ANTIHISTAMINE], birth=CHILD, measurements=body(23.4, 120))
    [suggestion] = result.suggestions
    assert (suggestion.kind, suggestion.system, suggestion.code, suggestion.dose_mg) == (
        "corticosteroid", RXNORM, "6902", 23.4)


def test_a_child_with_a_corticosteroid_ordered_still_gets_the_recommended_dose_but_no_suggestion():
    result = premed([STEROID, ANTIPYRETIC, ANTIHISTAMINE], birth=CHILD, measurements=body(30, 130))
    assert result.corticosteroid_dose_mg == 30
    assert result.suggestions == ()


def test_a_child_without_a_recent_weight_gets_no_dose_and_is_told_to_record_one():
    stale = [observation("29463-7", value=20, unit="kg", when="2026-09-01")]
    result = premed(birth=CHILD, measurements=stale)
    assert result.corticosteroid_dose_mg is None and result.suggestions == ()
    assert any("record a weight" in note for note in result.notes)


def test_unknown_age_gets_no_pediatric_dose():
    result = premed(birth=None)
    assert result.corticosteroid_dose_mg is None
    assert any("age is unknown" in note for note in result.notes)


def test_site_protocol_suggests_antipyretic_and_antihistamine_for_adults(tmp_path):
    knowledge = site(tmp_path, antipyretic={"code": "161", "display": "acetaminophen", "dose": 650, "unit": "mg",
                                            "text": "orally 30-60 min before"},
                     antihistamine={"code": "3498", "display": "diphenhydramine", "dose": 25, "unit": "mg"})
    result = premed([STEROID], knowledge=knowledge)
    assert [(s.kind, s.code, s.dose_mg) for s in result.suggestions] == [("antipyretic", "161", 650),
                                                                          ("antihistamine", "3498", 25)]
    assert result.suggestions[0].text == "orally 30-60 min before"


def test_an_adult_flat_dose_protocol_is_never_offered_for_a_child(tmp_path):
    knowledge = site(tmp_path, antipyretic={"code": "161", "display": "acetaminophen", "dose": 1000, "unit": "mg"})
    result = premed([STEROID], birth=CHILD, measurements=body(20, 110), knowledge=knowledge)
    assert result.suggestions == ()
    assert any("age group" in note for note in result.notes)


def test_a_weight_based_protocol_for_all_ages_is_computed_and_capped(tmp_path):
    knowledge = site(tmp_path, antipyretic={"code": "161", "display": "acetaminophen", "dose": 15,
                                            "unit": "mg/kg", "maxMg": 1000, "appliesTo": "all"})
    child = premed([STEROID, ANTIHISTAMINE], birth=CHILD, measurements=body(20, 110), knowledge=knowledge)
    assert child.suggestions[0].dose_mg == 300
    adult = premed([STEROID, ANTIHISTAMINE], measurements=body(90, 180), knowledge=knowledge)
    assert adult.suggestions[0].dose_mg == 1000


def test_a_protocol_drug_outside_its_value_set_is_not_suggested(tmp_path):
    knowledge = site(tmp_path, antihistamine={"code": "161", "display": "acetaminophen", "dose": 10, "unit": "mg"})
    result = premed([STEROID, ANTIPYRETIC], knowledge=knowledge)
    assert result.suggestions == ()
    assert any("outside the antihistamine value set" in note for note in result.notes)


def test_the_default_knowledge_configures_no_site_protocol():
    for kind in ("corticosteroid", "antipyretic", "antihistamine"):
        assert KNOWLEDGE.value(f"premedication-protocol-{kind}") == {}
