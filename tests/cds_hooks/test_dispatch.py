"""Dispatch: the URL's id picks the service, the body's hook picks the handler; anything else is a 400 or 404."""

from __future__ import annotations

from tests.cds_hooks.helpers import hello_request, ok_cards, order_request, outcome


def test_one_id_answers_order_select_and_order_sign_with_the_handler_for_the_body_hook(toy_client):
    for hook in ("order-select", "order-sign"):
        cards = ok_cards(toy_client.post("/cds-services/order-echo", json=order_request(hook)))

        assert cards[0]["summary"].startswith(f"{hook}:")


def test_a_hook_the_id_does_not_serve_is_a_400_naming_the_hooks_it_serves(toy_client):
    issue = outcome(toy_client.post("/cds-services/order-echo", json=hello_request(fhir=False)), 400)

    assert "patient-view" in issue["diagnostics"] and "order-select, order-sign" in issue["diagnostics"]
    assert issue["expression"] == ["hook"]


def test_an_unknown_hook_name_is_a_400(toy_client):
    body = hello_request(fhir=False) | {"hook": "org.example.patient-transmogrify"}

    outcome(toy_client.post("/cds-services/hello-patient", json=body), 400)


def test_an_unknown_service_id_is_a_404_for_calls_and_feedback(toy_client):
    assert outcome(toy_client.post("/cds-services/no-such-service", json=hello_request()), 404)["code"] == "not-found"
    outcome(toy_client.post("/cds-services/no-such-service/feedback", json={"feedback": []}), 404)


def test_an_order_session_without_orders_answers_an_empty_card_list(toy_client):
    cards = ok_cards(toy_client.post("/cds-services/order-echo", json=order_request("order-sign", orders=[])))

    assert cards == []
