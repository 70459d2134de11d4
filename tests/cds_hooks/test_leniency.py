"""Leniency where real EHRs are sloppy (field notes §5.8), strictness where the spec is explicit."""

from __future__ import annotations

import pytest

from cds_hooks import FhirServerRefused, UrlPolicy
from tests.cds_hooks.fake_ehr import FakeEhr
from tests.cds_hooks.helpers import hello_request, ok_cards, order_request, outcome, toy_patient

COMPLETE = {"patientToGreet": toy_patient(), "conditions": None, "user": None}


def test_unknown_top_level_fields_and_extensions_are_ignored(toy_client):
    body = hello_request(COMPLETE, fhir=False) | {
        "extension": {"com.example.timestamp": "2017-11-27T22:13:25Z"}, "somethingNew": [1, 2]}
    body["context"]["extension"] = {"com.example.x": True}
    body["context"]["futureField"] = "x"

    assert ok_cards(toy_client.post("/cds-services/hello-patient", json=body))


def test_a_draft_orders_bundle_without_type_is_accepted(toy_client):
    body = order_request("order-sign")
    assert "type" not in body["context"]["draftOrders"]

    assert ok_cards(toy_client.post("/cds-services/order-echo", json=body))


def test_ids_longer_than_64_characters_are_accepted_everywhere(toy_client):
    long_id = "eXoGxqgBaJuNkuahMYmiDhg3." + "x" * 170
    order = {"resourceType": "MedicationRequest", "id": long_id, "status": "draft", "intent": "order"}
    body = order_request("order-select", orders=[order]) | {"hookInstance": "i" * 150}

    cards = ok_cards(toy_client.post("/cds-services/order-echo", json=body))

    assert cards[0]["suggestions"][0]["actions"][0]["resourceId"] == f"MedicationRequest/{long_id}"


@pytest.mark.parametrize("status", ["active", "on-hold", "completed"])
def test_order_sign_accepts_orders_that_are_not_in_draft_status(toy_client, status):
    order = {"resourceType": "MedicationRequest", "id": "mr1", "status": status, "intent": "order"}

    cards = ok_cards(toy_client.post("/cds-services/order-echo", json=order_request("order-sign", orders=[order])))

    assert cards[0]["summary"] == "order-sign: 1 draft order(s)"


def test_fhir_authorization_without_expires_in_scope_or_subject_is_used(toy, ehr):
    ehr.add(toy_patient())
    body = hello_request({"conditions": None, "user": None})
    body["fhirAuthorization"] = {"access_token": "short-lived", "token_type": "bearer"}

    ok_cards(toy.app.test_client().post("/cds-services/hello-patient", json=body))

    assert [c.authorization for c in ehr.calls] == ["Bearer short-lived"]


def test_an_http_fhir_server_is_read_outside_production(make_toy_app, rsps):
    ehr = FakeEhr(rsps, "http://hooks.example.org:9080").add(toy_patient())
    toy = make_toy_app(policy=UrlPolicy(allow_http=True, allow_private=True))
    body = hello_request({"conditions": None, "user": None}) | {"fhirServer": "http://hooks.example.org:9080"}

    ok_cards(toy.app.test_client().post("/cds-services/hello-patient", json=body))

    assert ehr.paths() == ["Patient/p1"]


def test_an_http_fhir_server_is_never_called_under_a_production_policy(make_toy_app, rsps):
    ehr = FakeEhr(rsps, "http://hooks.example.org:9080").add(toy_patient())
    toy = make_toy_app(policy=UrlPolicy(allow_http=False, allow_private=True))
    body = hello_request({"conditions": None, "user": None}) | {"fhirServer": "http://hooks.example.org:9080"}

    issue = outcome(toy.app.test_client().post("/cds-services/hello-patient", json=body), 412)

    assert "fhirServer must use https" in issue["diagnostics"] and ehr.calls == []


def test_a_production_policy_refuses_private_addresses_without_calling_them():
    policy = UrlPolicy(allow_http=False, allow_private=False)

    for url in ("https://127.0.0.1/fhir", "https://10.1.2.3/fhir", "https://[::1]/fhir", "https://169.254.169.254/"):
        with pytest.raises(FhirServerRefused):
            policy.check(url)


def test_a_prefetch_sent_as_null_is_read_as_no_prefetch(toy_client, ehr):
    ehr.add(toy_patient())

    assert ok_cards(toy_client.post("/cds-services/hello-patient", json=hello_request() | {"prefetch": None}))


def test_the_misprinted_patient_field_of_fhir_authorization_is_accepted(toy, ehr):
    ehr.add(toy_patient())
    body = hello_request({"conditions": None, "user": None})
    body["fhirAuthorization"]["'patient"] = "p1"

    ok_cards(toy.app.test_client().post("/cds-services/hello-patient", json=body))
    assert toy.seen[-1][0].fhir_authorization.patient == "p1"


def test_the_access_token_is_not_part_of_any_repr(toy, ehr):
    ehr.add(toy_patient())
    toy.app.test_client().post("/cds-services/hello-patient", json=hello_request({"conditions": None, "user": None}))
    request, data = toy.seen[-1]

    assert request.fhir_authorization.access_token not in repr(request) + repr(data) + repr(data.client)
