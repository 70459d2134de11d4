"""Prefetch fulfilment through HTTP, every case of the spec: complete, partial, absent, null, OperationOutcome,
paged; with the request's token sent exactly, to the fhirServer only, under one deadline; 412 when the Patient
cannot be had."""

from __future__ import annotations

import threading
import time

import requests

from cds_hooks import FhirLimits
from tests.cds_hooks.fake_ehr import FakeEhr
from tests.cds_hooks.helpers import hello_request, ok_cards, outcome, toy_condition, toy_patient
from tests.cds_hooks.toy import ACCESS_TOKEN, FHIR_BASE

PRACTITIONER = {"resourceType": "Practitioner", "id": "u1"}
EMPTY = {"resourceType": "Bundle", "type": "searchset", "entry": []}


def _searchset(*resources) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _call(toy, body):
    response = toy.app.test_client().post("/cds-services/hello-patient", json=body)
    return response, (toy.seen[-1][1] if toy.seen else None)


def test_a_complete_prefetch_is_used_as_sent_and_nothing_is_fetched(toy, ehr):
    prefetch = {"patientToGreet": toy_patient(), "conditions": _searchset(toy_condition("c1")), "user": PRACTITIONER}

    response, data = _call(toy, hello_request(prefetch))

    assert ok_cards(response)[0]["summary"] == "Hello Alex!"
    assert ehr.calls == [] and data.fetched == frozenset() and data.failures == {}
    assert data["conditions"] == prefetch["conditions"]


def test_a_partial_prefetch_fetches_only_the_missing_keys_with_the_bearer_token_exactly(toy, ehr):
    ehr.add(toy_condition("c1"), toy_condition("c2"), PRACTITIONER)

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient()}))

    assert ok_cards(response)[0]["detail"] == "2 condition(s) on file."
    assert ehr.paths() == ["Condition", "Practitioner/u1"]
    assert {call.authorization for call in ehr.calls} == {f"Bearer {ACCESS_TOKEN}"}
    condition_call = next(c for c in ehr.calls if c.path == "Condition")
    assert condition_call.query == {"patient": ["p1"], "_sort": ["-recorded-date"]}
    assert data.fetched == {"conditions", "user"}


def test_an_absent_prefetch_fetches_every_key_from_the_fhir_server(toy, ehr):
    ehr.add(toy_patient(given="Robin"), toy_condition("c1"), PRACTITIONER)

    response, data = _call(toy, hello_request())

    assert ok_cards(response)[0]["summary"] == "Hello Robin!"
    assert ehr.paths() == ["Condition", "Patient/p1", "Practitioner/u1"]
    assert data.fetched == {"patientToGreet", "conditions", "user"}


def test_a_null_key_means_no_data_and_is_not_fetched_again(toy, ehr):
    ehr.add(toy_patient(), toy_condition("c1"))

    response, data = _call(toy, hello_request({"conditions": None, "user": None}))

    assert ok_cards(response)[0]["detail"] == "0 condition(s) on file."
    assert ehr.paths() == ["Patient/p1"]
    assert data.values["conditions"] is None and "conditions" not in data.failures


def test_a_key_holding_an_operation_outcome_is_fetched_once_more(toy, ehr):
    ehr.add(toy_condition("c1"), PRACTITIONER)
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "conditions": failed}))

    assert ok_cards(response)[0]["detail"] == "1 condition(s) on file."
    assert [c.path for c in ehr.calls].count("Condition") == 1
    assert "conditions" not in data.failures and "conditions" in data.fetched


def test_an_operation_outcome_that_cannot_be_fetched_again_degrades_and_says_so(toy, ehr):
    ehr.failures["Condition"] = 503
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "conditions": failed,
                                               "user": None}))

    card = ok_cards(response)[0]
    assert card["detail"] == "0 condition(s) on file. Could not read: conditions."
    assert data.failures == {"conditions": "FHIR server answered HTTP 503"}


def test_an_operation_outcome_without_a_fhir_server_is_a_failure_not_data(toy, ehr):
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "conditions": failed,
                                               "user": None}, fhir=False))

    assert response.status_code == 200
    assert data.failures == {"conditions": "client sent an OperationOutcome"} and data["conditions"] is None


def test_a_paged_search_is_followed_to_the_last_page_with_the_token_on_every_page(toy, rsps):
    ehr = FakeEhr(rsps, page_size=2).add(toy_condition("c1"), toy_condition("c2"), toy_condition("c3"),
                                         toy_condition("c4"), toy_condition("c5"))

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "user": None}))

    assert ok_cards(response)[0]["detail"] == "5 condition(s) on file."
    assert [c.query.get("_offset") for c in ehr.calls] == [None, ["2"], ["4"]]
    assert {c.authorization for c in ehr.calls} == {f"Bearer {ACCESS_TOKEN}"}
    assert "link" not in data["conditions"], "the merged Bundle carries no next link"


def test_paging_stops_at_the_page_bound_and_reports_the_key(make_toy_app, rsps):
    toy = make_toy_app(limits=FhirLimits(timeout_s=0.5, max_pages=2, max_bytes=1_000_000))
    ehr = FakeEhr(rsps, page_size=1).add(*(toy_condition(f"c{i}") for i in range(6)))

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "user": None}))

    assert response.status_code == 200
    assert len(ehr.calls) == 3, "the first page and two next links, then stop"
    assert data.failures == {"conditions": "more than 2 pages"}


def test_a_paginated_prefetch_from_the_client_is_completed_from_the_fhir_server(toy, rsps):
    ehr = FakeEhr(rsps, page_size=1).add(toy_condition("c1"), toy_condition("c2"))
    first_page = _searchset(toy_condition("c1")) | {
        "link": [{"relation": "next", "url": f"{FHIR_BASE}/Condition?patient=p1&_offset=1"}]}

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "conditions": first_page,
                                               "user": None}))

    assert ok_cards(response)[0]["detail"] == "2 condition(s) on file."
    assert [(c.path, c.authorization) for c in ehr.calls] == [("Condition", f"Bearer {ACCESS_TOKEN}")]


def test_a_next_link_to_another_origin_is_never_called_and_the_token_stays_home(toy, rsps, ehr):
    first_page = _searchset(toy_condition("c1")) | {
        "link": [{"relation": "next", "url": "https://elsewhere.example.net/fhir/Condition?page=2"}]}

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "conditions": first_page,
                                               "user": None}))

    assert response.status_code == 200
    assert [c.request.url for c in rsps.calls] == []
    assert data.failures == {"conditions": "Bundle next link points outside the fhirServer"}


def test_a_relative_next_link_is_read_from_the_fhir_server(toy, rsps):
    ehr = FakeEhr(rsps, page_size=1).add(toy_condition("c1"), toy_condition("c2"))
    first_page = _searchset(toy_condition("c1")) | {
        "link": [{"relation": "next", "url": "Condition?patient=p1&_offset=1"}]}

    response, _ = _call(toy, hello_request({"patientToGreet": toy_patient(), "conditions": first_page,
                                            "user": None}))

    assert ok_cards(response)[0]["detail"] == "2 condition(s) on file."
    assert ehr.calls[0].url.startswith(FHIR_BASE + "/Condition?")


def test_a_fetch_that_times_out_degrades_the_key_and_names_the_cause(toy, ehr):
    ehr.add(toy_patient())
    ehr.failures["Condition"] = requests.exceptions.ReadTimeout("slow")

    response, data = _call(toy, hello_request({"user": None}))

    assert ok_cards(response)[0]["detail"].endswith("Could not read: conditions.")
    assert data.failures == {"conditions": "FHIR server unreachable (ReadTimeout)"}


def test_fetches_still_running_at_the_request_deadline_are_abandoned(make_toy_app, ehr):
    toy = make_toy_app(deadline_s=0.05)
    ehr.add(toy_patient(), toy_condition("c1"))
    ehr.gated = {"Condition"}
    try:
        response, data = _call(toy, hello_request({"user": None}))
    finally:
        ehr.gate.set()

    assert ok_cards(response)[0]["summary"] == "Hello Alex!"
    assert data.failures == {"conditions": "deadline passed"}


def test_missing_keys_are_fetched_in_parallel_not_one_after_another(make_toy_app, ehr):
    toy = make_toy_app(deadline_s=3.0)
    ehr.add(toy_patient(), toy_condition("c1"), PRACTITIONER)
    ehr.barrier = threading.Barrier(3)  # each answer waits until all three reads are in flight at once

    response, data = _call(toy, hello_request())

    assert ok_cards(response)[0]["detail"] == "1 condition(s) on file."
    assert data.failures == {} and data.fetched == {"patientToGreet", "conditions", "user"}


def test_no_patient_and_no_fhir_server_is_a_412_naming_the_key(toy):
    issue = outcome(toy.app.test_client().post("/cds-services/hello-patient", json=hello_request(fhir=False)), 412)

    assert issue["code"] == "incomplete" and issue["expression"] == ["prefetch.patientToGreet"]
    assert "no fhirServer" in issue["diagnostics"]


def test_a_patient_the_fhir_server_does_not_have_is_a_412(toy, ehr):
    issue = outcome(toy.app.test_client().post("/cds-services/hello-patient", json=hello_request()), 412)

    assert "not found on the FHIR server" in issue["diagnostics"]


def test_a_fhir_server_that_refuses_the_token_is_a_412_when_the_patient_was_not_prefetched(toy, ehr):
    ehr.failures["Patient"] = 401

    issue = outcome(toy.app.test_client().post("/cds-services/hello-patient", json=hello_request()), 412)

    assert "HTTP 401" in issue["diagnostics"]


def test_a_patient_sent_as_null_is_a_412_and_is_not_fetched(toy, ehr):
    issue = outcome(toy.app.test_client().post("/cds-services/hello-patient",
                                               json=hello_request({"patientToGreet": None})), 412)

    assert "null" in issue["diagnostics"] and "Patient/p1" not in ehr.paths()


def test_a_patient_operation_outcome_that_cannot_be_fetched_again_is_a_412(toy, ehr):
    ehr.failures["Patient"] = 500
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}

    outcome(toy.app.test_client().post("/cds-services/hello-patient",
                                       json=hello_request({"patientToGreet": failed})), 412)

    assert ehr.paths().count("Patient/p1") == 1


def test_a_patient_read_past_the_deadline_is_a_412_answered_at_the_deadline(make_toy_app, ehr):
    toy = make_toy_app(deadline_s=0.05)
    ehr.add(toy_patient())
    ehr.gated = {"Patient"}
    started = time.monotonic()
    try:
        issue = outcome(toy.app.test_client().post("/cds-services/hello-patient", json=hello_request()), 412)
    finally:
        ehr.gate.set()

    assert "deadline passed" in issue["diagnostics"]
    assert time.monotonic() - started < 2, "the answer does not wait for the slow FHIR server"


def test_a_fhir_server_without_a_token_is_read_without_an_authorization_header(toy, ehr):
    ehr.add(toy_patient())
    body = hello_request({"conditions": None, "user": None})
    del body["fhirAuthorization"]

    ok_cards(toy.app.test_client().post("/cds-services/hello-patient", json=body))

    assert [c.authorization for c in ehr.calls] == [None]


def test_a_value_that_is_not_a_fhir_resource_is_fetched_again(toy, ehr):
    ehr.add(toy_condition("c1"), PRACTITIONER)

    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "conditions": [{"x": 1}],
                                               "user": "u1"}))

    assert ok_cards(response)[0]["detail"] == "1 condition(s) on file."
    assert ehr.paths() == ["Condition", "Practitioner/u1"] and data["user"] == PRACTITIONER


def test_prefetch_keys_the_service_did_not_ask_for_are_ignored(toy, ehr):
    response, data = _call(toy, hello_request({"patientToGreet": toy_patient(), "conditions": None, "user": None,
                                               "somethingElse": "not a resource", "labs": EMPTY}))

    assert response.status_code == 200 and set(data.values) == {"patientToGreet", "conditions", "user"}
