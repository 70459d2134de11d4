"""Eligibility end to end through HTTP: every verdict on order-select, order-sign and patient-view.

The synthetic patients live in tests/fixtures/eligibility/ (one FHIR Bundle each, dated against the frozen
test clock 2026-11-25). Every response must be valid CDS Hooks, and every eligibility card must carry an
assessment valid against contracts/assessment.schema.json.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jsonschema
import pytest

from cds_hooks import validate_response
from service.assessment import EXTENSION_KEY
from tests.builders import RXNORM, bundle, hook_request, medication_request

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "eligibility"
from tests.contract import SCHEMA  # noqa: E402
ORDER_SERVICE, SCREENING_SERVICE = "inotuzumab-order-check", "inotuzumab-patient-screening"


def _fixture_tool():
    """The request builder shipped beside the fixtures (also used to try the service by hand)."""
    spec = importlib.util.spec_from_file_location("eligibility_fixture_request", FIXTURES / "request.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _fixture_tool()

# fixture -> (verdict, criteria statuses age/diagnosis/cd22/relapsedRefractory, order-card indicator)
EXPECTED = {
    "eligible-adult": ("eligible", "met met met met", "info"),
    "eligible-child-narrative": ("eligible", "met met met met", "info"),
    "eligible-on-course": ("eligible", "met met met met", "info"),
    "cd22-before-relapse": ("eligible", "met met met met", "info"),
    "infant": ("not-eligible", "not-met met met met", "critical"),
    "cd22-negative": ("not-eligible", "met met not-met met", "warning"),
    "t-all": ("not-eligible", "met not-met not-met met", "warning"),
    "in-remission": ("not-eligible", "met met met not-met", "warning"),
    "aml": ("not-eligible", "met not-met unknown unknown", "warning"),
    "lineage-unstated": ("insufficient-data", "met unknown met unknown", "warning"),
    "partial-birthdate": ("insufficient-data", "unknown met met met", "warning"),
    "stale-cd22": ("insufficient-data", "met met unknown met", "warning"),
    "contradictory-cd22": ("insufficient-data", "met met unknown met", "warning"),
    "other-patient-records": ("insufficient-data", "met met unknown met", "warning"),
    "entered-in-error": ("insufficient-data", "met unknown met unknown", "warning"),
}
ALL_PATIENTS = {"eligible-adult", "eligible-child-narrative", "eligible-on-course", "cd22-before-relapse", "infant",
                "cd22-negative", "t-all", "in-remission", "lineage-unstated", "partial-birthdate", "stale-cd22",
                "contradictory-cd22", "other-patient-records", "entered-in-error"}


def load(name: str) -> tuple[str, dict]:
    return TOOL.prefetch_for(name)


def call(client, hook: str, name: str, orders: list[dict] | None = None, **kw) -> dict:
    patient_id, prefetch = load(name)
    service = SCREENING_SERVICE if hook == "patient-view" else ORDER_SERVICE
    if orders is None and hook != "patient-view":
        orders = [medication_request(patient_id=patient_id, mr_id="ino-1")]
    body = hook_request(hook, orders=orders, prefetch=prefetch, patient_id=patient_id, **kw)
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert validate_response(response.json) == []
    return response.json


def eligibility_cards(body: dict) -> list[dict]:
    cards = [c for c in body["cards"] if (c.get("detail") or "").startswith("**Verdict:")]
    for card in cards:
        jsonschema.validate(card["extension"][EXTENSION_KEY], SCHEMA)
        assert len(card["summary"]) < 140
    return cards


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_synthetic_patient_gets_one_eligibility_card_per_order_with_the_expected_verdict(client, hook, name):
    verdict, statuses, indicator = EXPECTED[name]
    [card] = eligibility_cards(call(client, hook, name))
    assessment = card["extension"][EXTENSION_KEY]
    assert assessment["verdict"] == verdict
    assert assessment["order"] == "MedicationRequest/ino-1"
    assert " ".join(assessment["criteria"][c]["status"] for c in ("age", "diagnosis", "cd22", "relapsedRefractory")) \
        == statuses
    assert card["indicator"] == indicator
    assert bool(card.get("overrideReasons")) == (indicator != "info")
    assert all(reason.get("display") for reason in card.get("overrideReasons", ()))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_patient_view_shows_a_card_only_for_all_patients_who_may_be_candidates(client, name):
    verdict = EXPECTED[name][0]
    cards = eligibility_cards(call(client, "patient-view", name))
    if name in ALL_PATIENTS and verdict in ("eligible", "insufficient-data"):
        [card] = cards
        assert card["extension"][EXTENSION_KEY]["verdict"] == verdict
        assert "order" not in card["extension"][EXTENSION_KEY]
        assert card["summary"].startswith("Possible inotuzumab candidate")
    else:
        assert cards == []


@pytest.mark.parametrize("hook", ["order-sign", "order-select", "patient-view"])
def test_a_deceased_patient_gets_no_eligibility_card(client, hook):
    assert call(client, hook, "deceased")["cards"] == []


def test_the_fixture_tool_answers_every_prefetch_key_the_services_declare(client):
    _, prefetch = load("eligible-adult")
    for service in client.get("/cds-services").json["services"]:
        assert set(service["prefetch"]) <= set(prefetch), service["id"]


@pytest.mark.parametrize("hook, service", [("order-sign", ORDER_SERVICE), ("order-select", ORDER_SERVICE),
                                           ("patient-view", SCREENING_SERVICE)])
def test_the_fixture_tool_builds_requests_the_service_answers(client, hook, service):
    response = client.post(f"/cds-services/{service}", json=TOOL.hook_request("eligible-adult", hook))
    assert validate_response(response.json) == []
    [card] = eligibility_cards(response.json)
    assert card["extension"][EXTENSION_KEY]["verdict"] == "eligible"
    assert "Could not retrieve" not in card["detail"], "every declared prefetch key is answered"


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_no_inotuzumab_order_answers_no_cards(client, hook):
    other = medication_request("197361", patient_id="eligible-adult", mr_id="other-1")
    assert call(client, hook, "eligible-adult", orders=[other]) == {"cards": []}


def test_the_card_detail_shows_each_criterion_the_label_indication_and_the_boxed_warning_with_a_link(client, app):
    [card] = eligibility_cards(call(client, "order-sign", "eligible-adult"))
    knowledge = app.extensions["inotuzumab"]["knowledge"]
    detail = card["detail"]
    for reference in ("Patient/eligible-adult", "Condition/eligible-adult-dx", "Observation/eligible-adult-cd22"):
        assert reference in detail
    assert "85% of blasts" in detail and "2026-11-18" in detail
    assert knowledge.text("indication") in detail
    boxed = next(line for line in detail.splitlines() if knowledge.text("boxed-warning") in line)
    assert knowledge.source("fda-label").url in boxed


def test_a_narrative_cd22_result_is_said_to_come_from_narrative_on_the_card(client, app):
    [card] = eligibility_cards(call(client, "order-sign", "eligible-child-narrative"))
    assert app.extensions["inotuzumab"]["knowledge"].text("eligibility-cd22-narrative") in card["detail"]


def test_an_outdated_cd22_result_is_flagged_on_the_card(client, app):
    [card] = eligibility_cards(call(client, "order-sign", "cd22-before-relapse"))
    assert app.extensions["inotuzumab"]["knowledge"].text("eligibility-cd22-before-relapse") in card["detail"]


def test_insufficient_data_says_what_would_settle_it(client):
    [card] = eligibility_cards(call(client, "order-sign", "stale-cd22"))
    assert "**To settle it:**" in card["detail"] and "CD22" in card["detail"]
    assert "Observation/stale-cd22-cd22" in card["detail"]


def test_an_order_recognised_by_name_only_says_so(client):
    by_name = medication_request(None, patient_id="eligible-adult", mr_id="ino-text", text="Besponsa 0.9 mg vial")
    [card] = eligibility_cards(call(client, "order-sign", "eligible-adult", orders=[by_name]))
    assert "name only" in card["summary"] and "name only" in card["detail"]


def test_an_order_pointing_to_a_medication_resource_is_recognised_by_its_code(client):
    medication = {"resourceType": "Medication", "id": "ino-med",
                  "code": {"coding": [{"system": RXNORM, "code": "1942955"}]}}
    order = medication_request(None, patient_id="eligible-adult", mr_id="ino-ref")
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/ino-med"}
    patient_id, prefetch = load("eligible-adult")
    prefetch["inotuzumabHistory"] = bundle(medication)
    body = hook_request("order-sign", orders=[order], prefetch=prefetch, patient_id=patient_id)
    response = client.post(f"/cds-services/{ORDER_SERVICE}", json=body)
    assert validate_response(response.json) == []
    [card] = eligibility_cards(response.json)
    assert card["extension"][EXTENSION_KEY]["order"] == "MedicationRequest/ino-ref"
    assert "name only" not in card["summary"]


def test_two_inotuzumab_orders_get_one_card_each_and_order_select_looks_only_at_the_selections(client):
    orders = [medication_request(patient_id="eligible-adult", mr_id=f"ino-{n}") for n in (1, 2)]
    signed = eligibility_cards(call(client, "order-sign", "eligible-adult", orders=orders))
    assert sorted(c["extension"][EXTENSION_KEY]["order"] for c in signed) == ["MedicationRequest/ino-1",
                                                                            "MedicationRequest/ino-2"]
    selected = eligibility_cards(call(client, "order-select", "eligible-adult", orders=orders,
                                      selections=["MedicationRequest/ino-2"]))
    assert [c["extension"][EXTENSION_KEY]["order"] for c in selected] == ["MedicationRequest/ino-2"]

