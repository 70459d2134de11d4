"""The blueprint's ``authenticate`` hook: called for every endpoint with the public audience, its refusal is a
401 without details, and the identity it returns reaches the FHIR client factory."""

from __future__ import annotations

from dataclasses import dataclass

from cds_hooks import Unauthorized
from tests.cds_hooks.helpers import hello_request, ok_cards, outcome, toy_patient
from tests.cds_hooks.toy import PUBLIC_BASE


@dataclass(frozen=True)
class Identity:
    issuer: str = "https://ehr.example.org"
    tenant: str = "t1"


class Gate:
    def __init__(self, accept: bool):
        self.accept, self.seen = accept, []

    def __call__(self, authorization, audience):
        self.seen.append((authorization, audience))
        if not self.accept:
            raise Unauthorized("signature does not verify for kid k1")  # the reason must stay in the log
        return Identity()


def test_each_endpoint_is_authenticated_against_its_own_public_url(make_toy_app):
    gate = Gate(accept=True)
    client = make_toy_app(authenticate=gate).app.test_client()
    headers = {"Authorization": "Bearer jwt"}

    client.get("/cds-services", headers=headers)
    client.post("/cds-services/hello-patient", json=hello_request({"patientToGreet": toy_patient(),
                                                                   "conditions": None, "user": None}, fhir=False),
                headers=headers)
    client.post("/cds-services/hello-patient/feedback", json={"feedback": []}, headers=headers)

    assert gate.seen == [("Bearer jwt", f"{PUBLIC_BASE}/cds-services"),
                         ("Bearer jwt", f"{PUBLIC_BASE}/cds-services/hello-patient"),
                         ("Bearer jwt", f"{PUBLIC_BASE}/cds-services/hello-patient/feedback")]


def test_a_refused_client_gets_a_401_that_does_not_say_why(make_toy_app):
    client = make_toy_app(authenticate=Gate(accept=False)).app.test_client()

    for response in (client.get("/cds-services"),
                     client.post("/cds-services/hello-patient", json=hello_request()),
                     client.post("/cds-services/hello-patient/feedback", json={"feedback": []})):
        issue = outcome(response, 401)
        assert issue["diagnostics"] == "Unauthorized" and response.headers["WWW-Authenticate"] == "Bearer"


def test_a_refused_client_causes_no_fhir_read(make_toy_app, ehr):
    toy = make_toy_app(authenticate=Gate(accept=False))

    toy.app.test_client().post("/cds-services/hello-patient", json=hello_request())

    assert ehr.calls == [] and toy.seen == []


def test_the_authenticated_identity_reaches_the_fhir_client_factory_and_the_audit(make_toy_app, ehr):
    ehr.add(toy_patient())
    toy = make_toy_app(authenticate=Gate(accept=True))
    body = hello_request({"conditions": None, "user": None})

    cards = ok_cards(toy.app.test_client().post("/cds-services/hello-patient", json=body))

    assert toy.identities == [Identity()]
    audit = toy.store.audit_for(body["hookInstance"])
    assert [(a["issuer"], a["tenant"]) for a in audit] == [("https://ehr.example.org", "t1")]
    assert audit[0]["card_uuids"] == [card["uuid"] for card in cards], "the uuids shown are what feedback names"


def test_a_cors_preflight_is_answered_before_authentication(make_toy_app):
    gate = Gate(accept=False)
    client = make_toy_app(authenticate=gate).app.test_client()

    response = client.options("/cds-services/hello-patient")

    assert response.status_code == 200 and gate.seen == []
