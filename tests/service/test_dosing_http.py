"""Dosing and premedication end to end: a hook call over HTTP, answered with valid CDS Hooks and a valid contract.

These tests look only at the dosing card (found by its heading) and the ``dosing``/``premedication`` parts of the
assessment; they do not depend on the eligibility verdict.
"""

from __future__ import annotations


import jsonschema
import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_hooks import validate_response
from service.assessment import EXTENSION_KEY
from service.cards.dosing import HEADING
from tests.builders import bundle, hook_request, medication_request, observation, patient

URL = "/cds-services/inotuzumab-order-check"
from tests.contract import SCHEMA  # noqa: E402
ADULT_BODY = [observation("8302-2", value=170, unit="cm", when="2026-11-01"),
              observation("29463-7", value=70, unit="kg", when="2026-11-24")]
CHILD_BODY = [observation("8302-2", value=120, unit="cm", when="2026-11-01"),
              observation("29463-7", value=23.4, unit="kg", when="2026-11-24")]


def premeds(*codes):
    return [medication_request(code, mr_id=f"pre-{code}") for code in codes]


ALL_PREMEDS = ("3264", "161", "3498")


def call(client, orders, *, body=ADULT_BODY, birth="1990-05-01", active=(), hook="order-sign", selections=None):
    # Empty history bundles: the EHR says there is no earlier inotuzumab (an absent key would leave it unknown).
    prefetch = {"patient": patient(birth), "bodyMeasurements": bundle(*body), "activeMedications": bundle(*active),
                "inotuzumabHistory": bundle(), "inotuzumabAdministrations": bundle()}
    response = client.post(URL, json=hook_request(hook, orders=orders, prefetch=prefetch, selections=selections))
    assert response.status_code == 200
    assert validate_response(response.json) == []
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for card in response.json["cards"]:
        validator.validate(card["extension"][EXTENSION_KEY])
    return response.json["cards"]


def dosing_cards(cards):
    return [c for c in cards if c.get("detail", "").startswith(HEADING)]


def assessment_of(cards, order_id="ino-1"):
    return next(c["extension"][EXTENSION_KEY] for c in cards
                if c["extension"][EXTENSION_KEY].get("order") == f"MedicationRequest/{order_id}")


def ino(dose, unit="mg", mr_id="ino-1"):
    return medication_request(dose=dose, dose_unit=unit, mr_id=mr_id)


def test_matching_dose_with_premedication_ordered_adds_no_dosing_card(client):
    cards = call(client, [ino(1.46), *premeds(*ALL_PREMEDS)])
    assert dosing_cards(cards) == []
    assessment = assessment_of(cards)
    assert assessment["dosing"]["orderCheck"] == {"status": "matches-label", "orderedMg": 1.46,
                                                  "expectedMinMg": 1.46, "expectedMaxMg": 1.46}
    assert assessment["dosing"]["regimen"] == "cycle-1"
    assert assessment["premedication"] == {"status": "ordered"}


def test_without_a_dosing_card_the_eligibility_card_still_shows_the_dose_arithmetic(client):
    cards = call(client, [ino(1.46), *premeds(*ALL_PREMEDS)])
    [card] = [c for c in cards if c["detail"].startswith("**Verdict:")]
    assert "**matches-label**" in card["detail"]
    assert "by the Mosteller formula" in card["detail"] and "= 1.46 mg" in card["detail"]


def test_cycle_total_entered_as_one_dose_gets_a_critical_card_with_the_corrected_order(client):
    cards = call(client, [ino(1.8, "mg/m2"), *premeds(*ALL_PREMEDS)])
    [card] = dosing_cards(cards)
    assert card["indicator"] == "critical"
    assert card["selectionBehavior"] == "any" and card["overrideReasons"]
    [suggestion] = card["suggestions"]
    assert suggestion["uuid"]
    [action] = suggestion["actions"]
    corrected = MedicationRequest.model_validate(action["resource"])
    assert action["type"] == "update" and corrected.id == "ino-1"
    assert float(corrected.dosageInstruction[0].doseAndRate[0].doseQuantity.value) == 1.46
    assert card["extension"][EXTENSION_KEY]["dosing"]["orderCheck"]["status"] == "above-label"


def test_premedication_in_active_orders_counts(client):
    active = [medication_request(code, status="active", mr_id=f"act-{code}") for code in ALL_PREMEDS]
    cards = call(client, [ino(1.46)], active=active)
    assert dosing_cards(cards) == []
    assert assessment_of(cards)["premedication"] == {"status": "ordered"}


def test_missing_premedication_in_a_child_suggests_the_corticosteroid_order(client):
    cards = call(client, [ino(0.7), *premeds("161", "3498")], body=CHILD_BODY, birth="2018-03-01")
    [card] = dosing_cards(cards)
    assert card["indicator"] == "warning"
    assert card["extension"][EXTENSION_KEY]["premedication"] == {
        "status": "partial", "corticosteroidDoseMg": 23.4, "missing": ["corticosteroid"]}
    [action] = card["suggestions"][0]["actions"]
    created = MedicationRequest.model_validate(action["resource"])
    assert action["type"] == "create" and created.status == "draft"
    assert created.subject.reference == "Patient/pat-1"
    assert "MedicationRequest/ino-1" in created.note[0].text


def test_no_height_or_weight_says_what_to_record(client):
    cards = call(client, [ino(1.46), *premeds(*ALL_PREMEDS)], body=[])
    [card] = dosing_cards(cards)
    assert card["summary"] == "Inotuzumab dose cannot be checked without a BSA: record a height and a weight"
    dosing = card["extension"][EXTENSION_KEY]["dosing"]
    assert dosing["orderCheck"] == {"status": "not-assessable"} and "bsa" not in dosing


def test_order_select_checks_the_selected_order(client):
    cards = call(client, [ino(2.0), *premeds(*ALL_PREMEDS)], hook="order-select",
                 selections=["MedicationRequest/ino-1"])
    [card] = dosing_cards(cards)
    assert card["summary"].startswith("Inotuzumab dose above label")


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_each_inotuzumab_order_gets_its_own_dosing_card(client, hook):
    orders = [ino(2.0, mr_id="ino-1"), ino(1.0, mr_id="ino-2"), *premeds(*ALL_PREMEDS)]
    cards = call(client, orders, hook=hook, selections=["MedicationRequest/ino-1", "MedicationRequest/ino-2"])
    statuses = {c["extension"][EXTENSION_KEY]["order"]: c["extension"][EXTENSION_KEY]["dosing"]["orderCheck"]["status"]
                for c in dosing_cards(cards)}
    assert statuses == {"MedicationRequest/ino-1": "above-label", "MedicationRequest/ino-2": "below-label"}
