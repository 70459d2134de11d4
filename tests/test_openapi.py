"""openapi.yaml is a valid OpenAPI 3.1 document, and live answers (discovery, hook calls, feedback, every error
status, health checks) match it, checked with openapi-core, so the document cannot drift from the service."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import create_engine
from werkzeug.datastructures import Headers

from cds_hooks import Unauthorized
from service.app import create_app
from service.services import ORDER_SERVICE_ID, SCREENING_SERVICE_ID
from service.settings import Settings
from tests.builders import NOW, hook_request, medication_request, patient
from tests.cds_hooks.helpers import INVALID_CARDS, hello_request, order_request, toy_patient
from tests.cds_hooks.toy import make_toy

DOCUMENT = Path(__file__).parents[1] / "openapi.yaml"
SPEC_FIXTURES = Path(__file__).parent / "fixtures" / "spec"
ORDER_URL = f"/cds-services/{ORDER_SERVICE_ID}"
FEEDBACK = {"feedback": [{"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "overridden",
                          "outcomeTimestamp": "2026-11-25T12:00:00Z",
                          "overrideReason": {"userComment": "Discussed with the patient."}}]}


@dataclass
class SentRequest:
    """openapi-core's request protocol for what a test sent (the test client consumes the WSGI input stream)."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    headers: dict
    host_url: str = "http://localhost"
    parameters: RequestParameters = field(init=False)

    def __post_init__(self):
        self.parameters = RequestParameters(header=Headers(self.headers))



@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app for the module: building it loads the knowledge base, and these requests change nothing that
    another test reads. Tests that need other settings use ``make_app``."""
    database = tmp_path_factory.mktemp("app") / "cds.sqlite3"
    return create_app(Settings(auth_disabled=True, database_url=f"sqlite:///{database}"), clock=lambda: NOW)

@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text())


@pytest.fixture(scope="module")
def openapi(document) -> OpenAPI:
    return OpenAPI.from_dict(document)


def _send(client, method: str, path: str, body=None, *, raw: bytes | None = None,
          content_type: str = "application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Authorization": "Bearer test-client-jwt"}
    if data is not None:
        headers["Content-Type"] = content_type
    response = client.open(path, method=method.upper(), data=data, headers=headers)
    return SentRequest(method.lower(), path, data, content_type, headers), response


def _exchange(openapi, client, method, path, body=None, *, status: int, request_valid: bool = True, **kwargs):
    """Send, check the status, and check the answer (and, when it should be, the request) against the document."""
    request, response = _send(client, method, path, body, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    if request_valid:
        openapi.validate_request(request)
    openapi.validate_response(request, WerkzeugOpenAPIResponse(response))
    return response


def _schema(document: dict, name: str) -> OAS31Validator:
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(document, DRAFT202012))
    return OAS31Validator({"$ref": f"urn:openapi#/components/schemas/{name}"}, registry=registry,
                          format_checker=OAS31Validator.FORMAT_CHECKER)


# ---------------------------------------------------------------------------------------------- the document

def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate_spec(document)


def test_every_endpoint_of_the_service_is_described(document):
    assert set(document["paths"]) == {"/cds-services", "/cds-services/{serviceId}",
                                      "/cds-services/{serviceId}/feedback", "/healthz", "/readyz"}
    call = document["paths"]["/cds-services/{serviceId}"]["post"]["responses"]
    assert {"200", "400", "401", "404", "412", "413", "415", "500"} <= set(call)


@pytest.mark.parametrize("card", INVALID_CARDS)
def test_the_card_schema_is_as_strict_as_the_spec(document, card):
    assert not _schema(document, "HookResponse").is_valid({"cards": [card]})


def test_the_spec_examples_fit_the_documents_schemas(document):
    def fixture(name):
        return json.loads((SPEC_FIXTURES / name).read_text())
    assert _schema(document, "DiscoveryResponse").is_valid(fixture("discovery-example.json"))
    assert _schema(document, "DiscoveryResponse").is_valid(fixture("discovery-extension.json"))
    assert _schema(document, "HookResponse").is_valid(fixture("response-example.json"))
    assert _schema(document, "HookResponse").is_valid(fixture("response-empty.json"))
    assert not _schema(document, "HookResponse").is_valid(fixture("response-autolaunchable.json")), "no indicator"
    assert _schema(document, "HookRequest").is_valid(fixture("request-patient-view.json"))
    for name in ("feedback-accepted.json", "feedback-overridden.json", "feedback-overridden-with-reason.json"):
        assert _schema(document, "FeedbackRequest").is_valid(fixture(name)), name


def test_the_prefetch_template_schema_refuses_tokens_from_the_3_0_ballot(document):
    template = _schema(document, "PrefetchTemplate")

    assert template.is_valid("Observation?patient={{context.patientId}}&code=4548-4&_sort=-date")
    assert template.is_valid("PractitionerRole?_id={{userPractitionerRoleId}}")
    assert not template.is_valid("Observation?patient={{context.patientId}}&date=gt{{today() - 90 days}}")


# ---------------------------------------------------------------------------------------------- live answers

def test_discovery_matches_the_document(openapi, client):
    response = _exchange(openapi, client, "get", "/cds-services", status=200)

    assert len(response.json["services"]) == 3


@pytest.mark.parametrize("body", [
    hook_request(orders=[medication_request()], prefetch={"patient": patient()}),
    hook_request("order-select", orders=[medication_request()], prefetch={"patient": patient()}),
    hook_request(orders=[medication_request("617993")], prefetch={"patient": patient()}),
], ids=["order-sign", "order-select", "unrelated-drug"])
def test_an_order_hook_call_and_its_cards_match_the_document(openapi, client, body):
    _exchange(openapi, client, "post", ORDER_URL, body, status=200)


def test_a_patient_view_call_matches_the_document(openapi, client):
    body = hook_request("patient-view", prefetch={"patient": patient()})

    _exchange(openapi, client, "post", f"/cds-services/{SCREENING_SERVICE_ID}", body, status=200)


def test_the_toy_cards_with_suggestions_and_links_match_the_document(openapi, tmp_path):
    client = make_toy(f"sqlite:///{tmp_path}/toy.sqlite3").app.test_client()

    response = _exchange(openapi, client, "post", "/cds-services/order-echo", order_request("order-sign"), status=200)

    assert response.json["cards"][0]["suggestions"]


def test_feedback_matches_the_document(openapi, client):
    response = _exchange(openapi, client, "post", f"{ORDER_URL}/feedback", FEEDBACK, status=200)

    assert response.json == {"received": 1, "stored": 1}


@pytest.mark.parametrize("raw, body", [(b"{not json", None), (None, {"hookInstance": "x", "context": {}}),
                                       (None, hook_request() | {"hook": "patient-view"})])
def test_a_400_matches_the_document(openapi, client, raw, body):
    _exchange(openapi, client, "post", ORDER_URL, body, raw=raw, status=400, request_valid=False)


def test_a_feedback_400_matches_the_document(openapi, client):
    _exchange(openapi, client, "post", f"{ORDER_URL}/feedback", {"feedback": [{"card": "c"}]}, status=400,
              request_valid=False)


def test_a_401_matches_the_document(openapi, tmp_path):
    def refuse(authorization, audience):
        raise Unauthorized("bad signature")
    client = make_toy(f"sqlite:///{tmp_path}/toy.sqlite3", authenticate=refuse).app.test_client()

    for method, path, body in (("get", "/cds-services", None), ("post", "/cds-services/hello-patient", {}),
                               ("post", "/cds-services/hello-patient/feedback", FEEDBACK)):
        _exchange(openapi, client, method, path, body, status=401, request_valid=False)


def test_a_404_matches_the_document(openapi, client):
    _exchange(openapi, client, "post", "/cds-services/no-such-service", hook_request(), status=404)
    _exchange(openapi, client, "post", "/cds-services/no-such-service/feedback", FEEDBACK, status=404)


@pytest.mark.parametrize("method, path", [("post", "/cds-services"), ("get", ORDER_URL),
                                          ("get", f"{ORDER_URL}/feedback")])
def test_a_405_matches_the_document(openapi, client, method, path):
    _exchange(openapi, client, method, path, status=405)


def test_a_412_matches_the_document(openapi, client):
    _exchange(openapi, client, "post", ORDER_URL, hook_request(orders=[medication_request()]), status=412)


def test_a_413_matches_the_document(openapi, make_app):
    client = make_app(max_body_bytes=1_000).test_client()
    body = hook_request(orders=[medication_request()], prefetch={"patient": patient()}) | {"pad": "x" * 1_000}

    _exchange(openapi, client, "post", ORDER_URL, body, status=413)
    _exchange(openapi, client, "post", f"{ORDER_URL}/feedback", FEEDBACK | {"pad": "x" * 1_000}, status=413)


def test_a_415_matches_the_document(openapi, client):
    raw = json.dumps(hook_request()).encode()

    _exchange(openapi, client, "post", ORDER_URL, raw=raw, content_type="text/plain", status=415, request_valid=False)
    _exchange(openapi, client, "post", f"{ORDER_URL}/feedback", raw=json.dumps(FEEDBACK).encode(),
              content_type="text/plain", status=415, request_valid=False)


def test_a_500_matches_the_document(openapi, tmp_path):
    client = make_toy(f"sqlite:///{tmp_path}/toy.sqlite3", handler_error=RuntimeError("boom")).app.test_client()
    body = hello_request({"patient": toy_patient()}, fhir=False)

    _exchange(openapi, client, "post", "/cds-services/broken", body, status=500)


def test_health_checks_match_the_document(openapi, app, monkeypatch, tmp_path):
    client = app.test_client()
    _exchange(openapi, client, "get", "/healthz", status=200)
    _exchange(openapi, client, "get", "/readyz", status=200)

    store = app.extensions["inotuzumab"]["store"]
    monkeypatch.setattr(store, "engine", create_engine(f"sqlite:///{tmp_path}/missing/cds.sqlite3"))
    _exchange(openapi, client, "get", "/readyz", status=503)


def test_an_answer_that_drifts_from_the_document_is_caught(openapi, client):
    request, response = _send(client, "get", "/cds-services")
    response.set_data(json.dumps({"services": [{"id": "x", "hook": "patient-view"}]}))

    with pytest.raises(Exception):
        openapi.validate_response(request, WerkzeugOpenAPIResponse(response))
