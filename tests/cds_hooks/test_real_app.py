"""The protocol layer through the real app: prefetch fulfilment into one record, 412, leniency, health checks."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine

from service.services import ORDER_SERVICE_ID, SCREENING_SERVICE_ID
from service.settings import Settings
from tests.builders import INOTUZUMAB_RXCUI, RXNORM, hook_request, medication_request, patient
from tests.cds_hooks.fake_ehr import FakeEhr
from tests.cds_hooks.helpers import AUTHORIZATION, ok_cards, outcome
from tests.cds_hooks.toy import ACCESS_TOKEN, FHIR_BASE

ORDER_URL = f"/cds-services/{ORDER_SERVICE_ID}"
INOTUZUMAB = {"coding": [{"system": RXNORM, "code": INOTUZUMAB_RXCUI}]}


class Events(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.events: list[dict] = []

    def emit(self, record):
        if isinstance(getattr(record, "event", None), dict):
            self.events.append(record.event)


@pytest.fixture
def events():
    handler, logger = Events(), logging.getLogger("cds_hooks")
    logger.addHandler(handler)
    yield handler.events
    logger.removeHandler(handler)


def _keys(client) -> list[str]:
    services = client.get("/cds-services").json["services"]
    return list(next(s for s in services if s["hook"] == "order-sign")["prefetch"])


def _with_fhir(body: dict) -> dict:
    return body | {"fhirServer": FHIR_BASE, "fhirAuthorization": dict(AUTHORIZATION)}


def _empty(*keys) -> dict:
    return {key: {"resourceType": "Bundle", "type": "searchset", "entry": []} for key in keys}


def test_a_complete_prefetch_is_decided_without_any_fhir_read(client, ehr, events):
    prefetch = {"patient": patient(), **_empty(*(k for k in _keys(client) if k != "patient"))}

    cards = ok_cards(client.post(ORDER_URL, json=_with_fhir(hook_request(orders=[medication_request()],
                                                                         prefetch=prefetch))))

    assert cards and ehr.calls == []
    assert events[-1]["prefetchFetched"] == [] and events[-1]["prefetchFailed"] == []


def test_a_partial_prefetch_fetches_each_missing_key_once_with_the_token(client, ehr, events):
    ehr.add(patient())
    keys = _keys(client)

    ok_cards(client.post(ORDER_URL, json=_with_fhir(hook_request(orders=[medication_request()],
                                                                 prefetch={"patient": patient()}))))

    assert "Patient/pat-1" not in ehr.paths()
    assert len(ehr.calls) == len(keys) - 1
    assert {c.authorization for c in ehr.calls} == {f"Bearer {ACCESS_TOKEN}"}
    assert all(c.query.get("patient") == ["pat-1"] for c in ehr.calls)
    assert events[-1]["prefetchFetched"] == sorted(set(keys) - {"patient"})


def test_an_absent_prefetch_reads_everything_and_decides_on_it(client, ehr, events):
    ehr.add(patient())

    cards = ok_cards(client.post(ORDER_URL, json=_with_fhir(hook_request(orders=[medication_request()]))))

    assert cards and "Patient/pat-1" in ehr.paths() and len(ehr.calls) == len(_keys(client))
    assert events[-1]["prefetchFailed"] == []


def test_null_keys_are_not_read_again(client, ehr):
    keys = [k for k in _keys(client) if k != "patient"]

    ok_cards(client.post(ORDER_URL, json=_with_fhir(hook_request(
        orders=[medication_request()], prefetch={"patient": patient(), **{k: None for k in keys}}))))

    assert ehr.calls == []


def test_a_failed_read_is_reported_and_the_answer_still_comes(client, ehr, events):
    ehr.add(patient())
    ehr.failures["Observation"] = 500

    cards = ok_cards(client.post(ORDER_URL, json=_with_fhir(hook_request(orders=[medication_request()]))))

    assert cards
    failed = events[-1]["prefetchFailed"]
    assert failed and all(key in ("labs", "bodyMeasurements", "leukemiaMarkers") for key in failed)
    assert any("Could not retrieve" in (card.get("detail") or "") for card in cards), "the card says so"


def test_no_patient_and_no_fhir_server_is_a_412_without_patient_data(client):
    issue = outcome(client.post(ORDER_URL, json=hook_request(orders=[medication_request()])), 412)

    assert issue["expression"] == ["prefetch.patient"] and "pat-1" not in issue["diagnostics"]


def test_a_patient_the_fhir_server_cannot_give_is_a_412(client, ehr):
    ehr.failures["Patient"] = 403

    issue = outcome(client.post(f"/cds-services/{SCREENING_SERVICE_ID}",
                                json=_with_fhir(hook_request("patient-view"))), 412)

    assert "HTTP 403" in issue["diagnostics"]


def test_an_order_for_an_unrelated_drug_is_answered_with_no_cards_and_no_reads(client, ehr):
    order = medication_request("617993", text="Amoxicillin 120 MG/ML oral suspension")

    assert ok_cards(client.post(ORDER_URL, json=_with_fhir(hook_request(orders=[order])))) == []
    assert ehr.calls == []


def test_an_inotuzumab_order_with_an_id_longer_than_64_characters_is_checked_not_dropped(client):
    order = medication_request(mr_id="eXoGxqgBaJuNkuahMYmiDhg3." + "x" * 170)

    assert ok_cards(client.post(ORDER_URL, json=hook_request(orders=[order], prefetch={"patient": patient()})))


@pytest.mark.parametrize("status", ["active", "on-hold"])
def test_a_re_signed_order_that_is_not_a_draft_is_still_checked(client, status):
    body = hook_request(orders=[medication_request(status=status)], prefetch={"patient": patient()})

    assert ok_cards(client.post(ORDER_URL, json=body))


def test_draft_orders_and_prefetch_bundles_without_type_are_read(client):
    prefetch = {"patient": patient(), **{k: {"resourceType": "Bundle", "entry": []} for k in _keys(client)[1:]}}
    body = hook_request(orders=[medication_request()], prefetch=prefetch)
    del body["context"]["draftOrders"]["type"]

    assert ok_cards(client.post(ORDER_URL, json=body))


def _referenced_order() -> dict:
    order = medication_request(mr_id="mr-ref")
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/med-1"}
    return order


def test_a_medication_reference_is_resolved_from_the_draft_orders_bundle(client):
    medication = {"resourceType": "Medication", "id": "med-1", "code": INOTUZUMAB}
    body = hook_request(orders=[_referenced_order(), medication], prefetch={"patient": patient()})

    assert ok_cards(client.post(ORDER_URL, json=body)), "recognised as inotuzumab through its Medication"


def test_a_medication_reference_is_read_from_the_fhir_server_with_the_token(client, ehr):
    ehr.add(patient(), {"resourceType": "Medication", "id": "med-1", "code": INOTUZUMAB})

    cards = ok_cards(client.post(ORDER_URL, json=_with_fhir(hook_request(orders=[_referenced_order()]))))

    assert cards
    read = [c for c in ehr.calls if c.path == "Medication/med-1"]
    assert len(read) == 1 and read[0].authorization == f"Bearer {ACCESS_TOKEN}"


def test_a_referenced_medication_is_read_with_the_prefetch_so_a_slow_search_cannot_hide_the_drug(make_app, ehr):
    client = make_app(prefetch_deadline_s=0.2).test_client()
    ehr.add(patient(), {"resourceType": "Medication", "id": "med-1", "code": INOTUZUMAB})
    ehr.gated = {"Observation"}  # the lab searches answer only after the deadline
    try:
        cards = ok_cards(client.post(ORDER_URL, json=_with_fhir(hook_request(orders=[_referenced_order()]))))
    finally:
        ehr.gate.set()

    assert cards, "the order was recognised as inotuzumab although the deadline cut the lab searches"
    assert "Medication/med-1" in ehr.paths()


def test_fhir_authorization_without_expires_in_is_used(client, ehr):
    ehr.add(patient())
    body = _with_fhir(hook_request("patient-view"))
    del body["fhirAuthorization"]["expires_in"]

    ok_cards(client.post(f"/cds-services/{SCREENING_SERVICE_ID}", json=body))

    assert ehr.calls and {c.authorization for c in ehr.calls} == {f"Bearer {ACCESS_TOKEN}"}


def test_an_http_fhir_server_is_read_outside_production(client, rsps):
    ehr = FakeEhr(rsps, "http://hooks.example.org:9080").add(patient())
    body = hook_request("patient-view") | {"fhirServer": "http://hooks.example.org:9080"}

    ok_cards(client.post(f"/cds-services/{SCREENING_SERVICE_ID}", json=body))

    assert "Patient/pat-1" in ehr.paths()


def _production_app(make_app, monkeypatch):
    # Client authentication is required in production and is tested with cds_hooks.auth; stubbed out here.
    monkeypatch.setattr("service.app._authenticator", lambda *args, **kwargs: None)
    return make_app(production=True, auth_disabled=False)


def test_an_http_fhir_server_is_refused_in_production_mode_and_never_called(make_app, monkeypatch, rsps):
    ehr = FakeEhr(rsps, "http://hooks.example.org:9080").add(patient())
    client = _production_app(make_app, monkeypatch).test_client()
    body = hook_request("patient-view") | {"fhirServer": "http://hooks.example.org:9080",
                                           "fhirAuthorization": dict(AUTHORIZATION)}

    issue = outcome(client.post(f"/cds-services/{SCREENING_SERVICE_ID}", json=body), 412)

    assert "https" in issue["diagnostics"] and ehr.calls == []


def test_in_production_a_complete_prefetch_still_answers_with_an_http_fhir_server_named(make_app, monkeypatch, rsps):
    client = _production_app(make_app, monkeypatch).test_client()
    keys = [k for k in client.get("/cds-services").json["services"][2]["prefetch"] if k != "patient"]
    body = hook_request("patient-view", prefetch={"patient": patient(), **{k: None for k in keys}}) | {
        "fhirServer": "http://hooks.example.org:9080"}

    ok_cards(client.post(f"/cds-services/{SCREENING_SERVICE_ID}", json=body))

    assert len(rsps.calls) == 0


def test_the_default_fhir_deadline_keeps_answers_within_the_specs_500_ms_budget():
    settings = Settings()

    assert settings.prefetch_deadline_s < 0.5 and settings.fhir_timeout_s <= settings.prefetch_deadline_s


def test_settings_refuse_http_and_private_fhir_servers_in_production_by_default():
    assert not Settings(production=True).http_fhir_allowed and not Settings(production=True).private_fhir_allowed
    assert Settings().http_fhir_allowed and Settings().private_fhir_allowed


def test_healthz_answers_200_without_touching_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_answers_200_with_the_knowledge_version_when_the_database_answers(app):
    response = app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.json == {"status": "ready", "database": "ok",
                             "knowledgeVersion": app.extensions["inotuzumab"]["knowledge"].version}


def test_readyz_answers_503_when_the_database_is_unreachable(app, monkeypatch, tmp_path):
    store = app.extensions["inotuzumab"]["store"]
    monkeypatch.setattr(store, "engine", create_engine(f"sqlite:///{tmp_path}/missing-dir/cds.sqlite3"))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503 and response.json["database"] == "unreachable"
    assert response.json["status"] == "not-ready"
