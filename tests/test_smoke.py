"""The app starts, discovers its services and answers a hook call with valid CDS Hooks JSON."""

from cds_hooks import validate_response
from tests.builders import hook_request, medication_request, patient


def test_discovery_lists_both_services(client):
    services = client.get("/cds-services").json["services"]
    assert {(s["id"], s["hook"]) for s in services} == {
        ("inotuzumab-order-check", "order-select"), ("inotuzumab-order-check", "order-sign"),
        ("inotuzumab-patient-screening", "patient-view")}


def test_order_sign_answers_valid_cards(client):
    body = hook_request(orders=[medication_request()], prefetch={"patient": patient()})
    response = client.post("/cds-services/inotuzumab-order-check", json=body)
    assert response.status_code == 200
    assert validate_response(response.json) == []
    assert response.json["cards"], "an inotuzumab order always gets an eligibility card"
