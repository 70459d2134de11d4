"""The dosing card: silent when all is well; otherwise the arithmetic, the findings and one-click suggestions.

Suggestions are checked as FHIR R4 MedicationRequests (fhir.resources R4B) and the card against CDS Hooks 2.0.
"""

from __future__ import annotations

import pytest
import yaml
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_hooks import validate_response
from service.assessment import CRITERIA, Assessment, Criterion, Eligibility, OrderInfo, Status
from service.cards.dosing import HEADING, dosing_card
from service.knowledge import load_knowledge
from service.patient import Relevance, build_record
from service.rules.course import build_course
from service.rules.dosing import assess_dosing, assess_premedication
from tests.builders import NOW, PATIENT_ID, SNOMED, medication_request, observation, patient

KNOWLEDGE = load_knowledge()
BODY = [observation("8302-2", value=170, unit="cm", when="2026-11-01", obs_id="h-1"),
        observation("29463-7", value=70, unit="kg", when="2026-11-24", obs_id="w-1")]
PREMEDS = [medication_request(code, mr_id=f"pre-{code}") for code in ("3264", "161", "3498")]
IV = {"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route"}]}


def ino(dose=1.46, unit="mg", route=IV):
    resource = medication_request(dose=dose, dose_unit=unit, mr_id="ino-1", authored="2026-11-25",
                                  note=[{"text": "C1D1"}])
    if route:
        resource["dosageInstruction"][0]["route"] = route
    return resource


def card_for(order=None, drafts=PREMEDS, resources=(), *, measurements=BODY, birth="1990-05-01"):
    record = build_record([patient(birth), *measurements, *resources], [order or ino(), *drafts],
                          patient_id=PATIENT_ID, now=NOW, relevance=Relevance.from_knowledge(KNOWLEDGE))
    the_order = record.draft_orders[0]
    assessment = Assessment(KNOWLEDGE.version, Eligibility({n: Criterion(Status.UNKNOWN, "not part of this test")
                                                           for n in CRITERIA}))
    assessment.order = OrderInfo("MedicationRequest/ino-1", "code", "inotuzumab")
    assessment.dosing = assess_dosing(record, KNOWLEDGE, the_order, build_course(record, KNOWLEDGE))
    assessment.premedication = assess_premedication(record, KNOWLEDGE, the_order, assessment.dosing)
    return dosing_card(assessment, KNOWLEDGE)


def valid(card) -> dict:
    body = {"cards": [card.to_json()]}
    assert validate_response(body) == []
    return body["cards"][0]


def actions(card, kind):
    return [a for s in card.suggestions for a in s.actions if a.type.value == kind]


def test_no_card_when_the_dose_matches_and_premedication_is_ordered():
    assert card_for() is None


def test_cycle_total_as_one_dose_is_a_critical_card_with_the_corrected_order():
    card = valid(card_for(ino(1.8, "mg/m2")))
    assert card["indicator"] == "critical"
    assert "a cycle total" in card["summary"] and len(card["summary"]) < 140
    assert card["selectionBehavior"] == "any" and card["overrideReasons"]
    [update] = [a for s in card["suggestions"] for a in s["actions"] if a["type"] == "update"]
    corrected = MedicationRequest.model_validate(update["resource"])
    assert corrected.id == "ino-1" and corrected.status == "draft"
    dose = corrected.dosageInstruction[0].doseAndRate[0].doseQuantity
    assert (float(dose.value), dose.code, dose.system) == (1.46, "mg", "http://unitsofmeasure.org")
    assert corrected.dosageInstruction[0].route.coding[0].code == "47625008"     # the rest of the order is kept
    assert corrected.note[0].text == "C1D1"


def test_the_update_suggestion_label_carries_the_arithmetic():
    card = card_for(ino(2.0))
    [suggestion] = card.suggestions
    assert suggestion.label == "Change the dose to 1.46 mg (0.8 mg/m² × 1.82 m²)"
    assert card.indicator.value == "warning"


def test_below_label_offers_the_update_and_recalls_no_re_escalation():
    card = card_for(ino(1.0))
    assert card.summary == "Inotuzumab dose below label: 1 mg (0.55 mg/m²) ordered, 1.46 mg expected"
    [update] = actions(card, "update")
    assert update.resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 1.46
    assert "must not be re-escalated" in card.detail


def test_detail_shows_formula_inputs_rounding_and_vials():
    detail = card_for(ino(2.0)).detail
    assert detail.startswith(HEADING)
    assert "**BSA 1.82 m²** by the Mosteller formula" in detail
    assert "170.0 cm, 2026-11-01, `Observation/h-1`" in detail and "70.0 kg, 2026-11-24, `Observation/w-1`" in detail
    assert "rounded to 0.01 m² (site policy)" in detail and "rounded to 0.01 mg (site policy" in detail
    assert "| 1 ← this order | 0.8 | 1.46 | 2 |" in detail
    assert KNOWLEDGE.text("administration") in detail
    assert KNOWLEDGE.text("dose-timing") in detail and KNOWLEDGE.text("pediatric-same-dose") in detail


def test_detail_does_not_repeat_the_eligibility_cards_indication_or_boxed_warning():
    detail = card_for(ino(2.0)).detail
    assert KNOWLEDGE.text("indication") not in detail and KNOWLEDGE.text("boxed-warning") not in detail


def test_inch_and_pound_inputs_are_shown_as_recorded():
    measured = [observation("8302-2", value=66, unit="[in_i]", when="2026-11-01"),
                observation("29463-7", value=154, unit="[lb_av]", when="2026-11-24")]
    detail = card_for(ino(3.0), measurements=measured).detail
    assert "167.6 cm (recorded 66 [in_i])" in detail and "69.9 kg (recorded 154 [lb_av])" in detail


def test_missing_bsa_card_says_what_to_record_and_offers_no_dose_change():
    card = card_for(measurements=BODY[1:])
    assert card.indicator.value == "warning"
    assert card.summary == "Inotuzumab dose cannot be checked without a BSA: record a height"
    assert "no final height on record" in card.detail
    assert actions(card, "update") == []


def test_non_iv_route_is_a_warning():
    card = card_for(ino(route={"text": "oral"}))
    assert card.indicator.value == "warning"
    assert "non-IV route (oral)" in card.summary
    assert KNOWLEDGE.text("iv-only") in card.detail


def test_weight_change_is_shown_for_confirmation():
    previous = observation("29463-7", value=80, unit="kg", when="2026-11-01", obs_id="w-0")
    card = card_for(resources=[previous])
    assert card.indicator.value == "warning"
    assert "**Weight changed 12.5%** since 80.0 kg on 2026-11-01 (`Observation/w-0`)" in card.detail


def test_missing_premedication_alone_gives_a_warning_without_invented_adult_orders():
    card = valid(card_for(drafts=PREMEDS[:1]))
    assert card["indicator"] == "warning"
    assert card["summary"] == "Premedication not found for inotuzumab: antipyretic, antihistamine"
    assert "suggestions" not in card
    assert "antipyretic: **not found**; required; order it per local protocol" in card["detail"]


def test_missing_pediatric_corticosteroid_is_a_create_suggestion_for_a_draft_order():
    child = [observation("8302-2", value=120, unit="cm", when="2026-11-01"),
             observation("29463-7", value=23.4, unit="kg", when="2026-11-24")]
    card = valid(card_for(ino(0.7), drafts=PREMEDS[1:], measurements=child, birth="2018-03-01"))
    [create] = [a for s in card["suggestions"] for a in s["actions"] if a["type"] == "create"]
    order = MedicationRequest.model_validate(create["resource"])
    assert (order.status, order.intent, order.subject.reference) == ("draft", "order", "Patient/pat-1")
    assert order.medicationCodeableConcept.coding[0].code == "6902"
    assert float(order.dosageInstruction[0].doseAndRate[0].doseQuantity.value) == 23.4
    assert "MedicationRequest/ino-1" in order.note[0].text
    assert "Corticosteroid dose for this child: 23.4 mg" in card["detail"]


def test_every_suggestion_has_its_own_uuid():
    child = [observation("8302-2", value=120, unit="cm", when="2026-11-01"),
             observation("29463-7", value=23.4, unit="kg", when="2026-11-24")]
    card = card_for(ino(1.8, "mg/m2"), drafts=(), measurements=child, birth="2018-03-01")
    uuids = [s.uuid for s in card.suggestions]
    assert len(uuids) == 2 and len(set(uuids)) == 2 and all(uuids)


def test_several_findings_show_the_worst_first_and_count_the_rest():
    card = card_for(ino(1.8, "mg/m2", route={"text": "oral"}), drafts=())
    assert card.indicator.value == "critical"
    assert card.summary.endswith("(+3 more)")
    assert len(card.summary) < 140


@pytest.mark.parametrize("order, reason", [(ino(3, "mL"), "the dose unit 'mL' is not readable as mg or mg/m2"),
                                           (medication_request(mr_id="ino-1"), "the order states no dose")])
def test_an_unassessable_dose_is_said_plainly(order, reason):
    card = card_for(order)
    assert card.summary.startswith(f"Inotuzumab dose cannot be checked: {reason}")
    assert card.indicator.value == "warning"


def test_the_card_carries_the_assessment_extension():
    card = valid(card_for(ino(2.0)))
    assessment = card["extension"]["inotuzumab-cds.assessment"]
    assert assessment["dosing"]["orderCheck"]["status"] == "above-label"
    assert assessment["premedication"] == {"status": "ordered"}


def test_found_premedication_is_named_by_its_coded_drug():
    detail = card_for(ino(2.0)).detail
    assert "- corticosteroid: dexamethasone (draft order, `MedicationRequest/pre-3264`)" in detail


def test_an_order_without_an_id_gets_no_update_suggestion():
    order = ino(2.0)
    order.pop("id")
    card = card_for(order)
    assert card.summary.startswith("Inotuzumab dose above label")
    assert actions(card, "update") == []


def test_a_site_protocol_premedication_becomes_a_valid_draft_order(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({"site": "t", "version": "1", "policy": {"premedication-protocol-antipyretic": {
        "value": {"code": "161", "display": "acetaminophen", "dose": 650, "unit": "mg",
                  "text": "orally 30-60 minutes before"}}}}))
    knowledge = load_knowledge(site_file=site)
    record = build_record([patient("1990-05-01"), *BODY], [ino(), PREMEDS[0], PREMEDS[2]], patient_id=PATIENT_ID,
                          now=NOW, relevance=Relevance.from_knowledge(knowledge))
    assessment = Assessment(knowledge.version, Eligibility({n: Criterion(Status.UNKNOWN, "x") for n in CRITERIA}))
    assessment.dosing = assess_dosing(record, knowledge, record.draft_orders[0], build_course(record, knowledge))
    assessment.premedication = assess_premedication(record, knowledge, record.draft_orders[0], assessment.dosing)
    card = valid(dosing_card(assessment, knowledge))
    [create] = [a for s in card["suggestions"] for a in s["actions"] if a["type"] == "create"]
    order = MedicationRequest.model_validate(create["resource"])
    assert order.medicationCodeableConcept.coding[0].code == "161"
    assert order.dosageInstruction[0].text == ("acetaminophen 650 mg before the inotuzumab infusion; "
                                               "orally 30-60 minutes before")
    assert "site protocol: 650 mg" in order.note[0].text
