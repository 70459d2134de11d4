"""examples/*.json are ready to send with curl to a fresh `make run`: complete prefetch (no EHR needed), answered
200 with valid cards, and synthetic data only (every resource tagged HTEST, no identifiers, no token)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.services import ORDER_SERVICE_ID, SCREENING_SERVICE_ID
from tests.cds_hooks.helpers import ok_cards

EXAMPLES = Path(__file__).parents[2] / "examples"
HOOK_EXAMPLES = {"order-sign.json": ORDER_SERVICE_ID, "order-select.json": ORDER_SERVICE_ID,
                 "patient-view.json": SCREENING_SERVICE_ID}
HTEST = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST"}


def _load(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def _resources(value):
    if isinstance(value, dict):
        if "resourceType" in value and value["resourceType"] != "Bundle":
            yield value
        for item in value.values():
            yield from _resources(item)
    elif isinstance(value, list):
        for item in value:
            yield from _resources(item)


@pytest.mark.parametrize("name, service_id", HOOK_EXAMPLES.items())
def test_each_hook_example_is_answered_with_valid_cards_without_any_fhir_server(client, name, service_id):
    body = _load(name)

    cards = ok_cards(client.post(f"/cds-services/{service_id}", json=body))

    assert cards, "the example shows the service saying something"
    assert "fhirServer" not in body and "fhirAuthorization" not in body


@pytest.mark.parametrize("name, service_id", HOOK_EXAMPLES.items())
def test_each_hook_example_fills_exactly_the_prefetch_keys_discovery_asks_for(client, name, service_id):
    body = _load(name)
    declared = next(s["prefetch"] for s in client.get("/cds-services").json["services"]
                    if s["id"] == service_id and s["hook"] == body["hook"])

    assert set(body["prefetch"]) == set(declared)


def test_the_feedback_example_is_accepted(client):
    response = client.post(f"/cds-services/{ORDER_SERVICE_ID}/feedback", json=_load("feedback.json"))

    assert response.status_code == 200 and response.json["received"] == 2


@pytest.mark.parametrize("name", HOOK_EXAMPLES)
def test_examples_carry_synthetic_data_only(name):
    resources = list(_resources(_load(name)))

    assert resources
    for resource in resources:
        tags = [{k: t[k] for k in ("system", "code")} for t in resource.get("meta", {}).get("tag", [])]
        assert HTEST in tags, f"{resource['resourceType']}/{resource.get('id')} is not tagged as test data"
        assert "identifier" not in resource and "telecom" not in resource and "address" not in resource


def test_every_example_has_its_own_hook_instance():
    instances = [_load(name)["hookInstance"] for name in HOOK_EXAMPLES]

    assert len(set(instances)) == len(instances)


def test_example_cards_carry_unique_uuids_and_cite_the_label_not_a_drill_down(app):
    client = app.test_client()
    label_url = app.extensions["inotuzumab"]["knowledge"].source("fda-label").url
    uuids = []
    for name, service_id in HOOK_EXAMPLES.items():
        for card in ok_cards(client.post(f"/cds-services/{service_id}", json=_load(name))):
            uuids += [card["uuid"], *(s["uuid"] for s in card.get("suggestions", ()))]
            assert card["source"]["url"] == label_url

    assert uuids and len(set(uuids)) == len(uuids)
