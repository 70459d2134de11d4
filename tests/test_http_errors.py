"""Every error status through HTTP on the real app: a JSON OperationOutcome naming the problem, never a stack
trace, never a 500 for anything a client can send."""

from __future__ import annotations

import io
import json

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Response

from service.app import create_app
from service.services import ORDER_SERVICE_ID, SCREENING_SERVICE_ID
from service.settings import Settings
from tests.builders import NOW, hook_request, medication_request, patient

ORDER_URL = f"/cds-services/{ORDER_SERVICE_ID}"
FEEDBACK_URL = f"{ORDER_URL}/feedback"



@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app for the module: building it loads the knowledge base, and these requests change nothing that
    another test reads. Tests that need other settings use ``make_app``."""
    database = tmp_path_factory.mktemp("app") / "cds.sqlite3"
    return create_app(Settings(auth_disabled=True, database_url=f"sqlite:///{database}"), clock=lambda: NOW)

def _issue(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text and ".py" not in text
    body = json.loads(text)
    assert body["resourceType"] == "OperationOutcome"
    [issue] = body["issue"]
    assert issue["severity"] == "error" and issue["code"] and issue["diagnostics"]
    return issue


def _valid() -> dict:
    return hook_request(orders=[medication_request()], prefetch={"patient": patient()})


def _without(field: str) -> dict:
    body = _valid()
    del body[field]
    return body


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"hook": NaN}', b"\xff\xfe{}", b"[" * 100_000, b""])
def test_a_body_that_is_not_json_is_a_400(client, raw):
    issue = _issue(client.post(ORDER_URL, data=raw, content_type="application/json"), 400)

    assert issue["code"] == "invalid" and "not valid JSON" in issue["diagnostics"]


@pytest.mark.parametrize("body, field", [
    (_without("hook"), "hook"), (_without("hookInstance"), "hookInstance"), (_without("context"), "context"),
    (_valid() | {"hook": 12}, "hook"), (_valid() | {"hookInstance": ["x"]}, "hookInstance"),
    (_valid() | {"hookInstance": ""}, "hookInstance"), (_valid() | {"context": "pat-1"}, "context"),
    (_valid() | {"prefetch": ["patient"]}, "prefetch"), (_valid() | {"fhirServer": "ftp://ehr"}, "fhirServer"),
    (_valid() | {"fhirAuthorization": {"access_token": "t"}}, "fhirServer"),
    (_valid() | {"fhirServer": "https://ehr.example.org", "fhirAuthorization": {"token_type": "Bearer"}},
     "fhirAuthorization"),
    (_valid() | {"fhirServer": "https://ehr.example.org",
                 "fhirAuthorization": {"access_token": "t", "token_type": "MAC"}}, "fhirAuthorization"),
    (_valid() | {"hookInstance": "x" * 201}, "hookInstance"),
])
def test_a_missing_or_mistyped_request_field_is_a_400_naming_it(client, body, field):
    issue = _issue(client.post(ORDER_URL, json=body), 400)

    assert field in issue["diagnostics"] and field in issue["expression"]


@pytest.mark.parametrize("mutate, field", [
    (lambda c: c.pop("patientId"), "patientId"), (lambda c: c.pop("userId"), "userId"),
    (lambda c: c.update(userId="prac-1"), "userId"), (lambda c: c.pop("draftOrders"), "draftOrders"),
    (lambda c: c.update(draftOrders={"resourceType": "List"}), "draftOrders"),
    (lambda c: c.update(draftOrders={"resourceType": "Bundle", "entry": "x"}), "draftOrders"),
    (lambda c: c.update(patientId=12), "patientId"),
])
def test_a_hook_context_that_breaks_its_hook_definition_is_a_400(client, mutate, field):
    body = _valid()
    mutate(body["context"])

    issue = _issue(client.post(ORDER_URL, json=body), 400)

    assert field in issue["diagnostics"] and issue["expression"] == ["context"]


def test_order_select_without_selections_is_a_400(client):
    body = hook_request("order-select", orders=[medication_request()], prefetch={"patient": patient()})
    del body["context"]["selections"]

    assert "selections" in _issue(client.post(ORDER_URL, json=body), 400)["diagnostics"]


def test_a_body_that_is_json_but_not_an_object_is_a_400(client):
    _issue(client.post(ORDER_URL, json=[_valid()]), 400)
    _issue(client.post(ORDER_URL, json="order-sign"), 400)


def test_a_hook_this_service_does_not_serve_is_a_400(client):
    issue = _issue(client.post(f"/cds-services/{SCREENING_SERVICE_ID}", json=_valid()), 400)

    assert "order-sign" in issue["diagnostics"] and issue["expression"] == ["hook"]


def test_an_unknown_service_is_a_404_for_a_call_and_its_feedback(client):
    assert _issue(client.post("/cds-services/no-such-service", json=_valid()), 404)["code"] == "not-found"
    _issue(client.post("/cds-services/no-such-service/feedback", json={"feedback": []}), 404)


def test_an_unknown_path_is_a_404_operation_outcome(client):
    _issue(client.get("/cds-services/x/y/z"), 404)
    _issue(client.get("/"), 404)


@pytest.mark.parametrize("method, path, allowed", [
    ("post", "/cds-services", "GET"), ("put", "/cds-services", "GET"), ("delete", "/cds-services", "GET"),
    ("get", ORDER_URL, "POST"), ("put", ORDER_URL, "POST"), ("get", FEEDBACK_URL, "POST"),
    ("post", "/healthz", "GET"), ("post", "/readyz", "GET"),
])
def test_a_method_an_endpoint_does_not_take_is_a_405_listing_the_allowed_ones(client, method, path, allowed):
    response = getattr(client, method)(path)

    assert _issue(response, 405)["code"] == "not-supported"
    assert allowed in response.headers["Allow"]


def test_a_patient_that_cannot_be_had_is_a_412(client):
    issue = _issue(client.post(ORDER_URL, json=hook_request(orders=[medication_request()])), 412)

    assert issue["code"] == "incomplete" and issue["expression"] == ["prefetch.patient"]


def test_a_body_over_the_configured_limit_is_a_413_for_calls_and_feedback(make_app):
    client = make_app(max_body_bytes=2_000).test_client()
    body = _valid() | {"padding": "x" * 2_000}

    assert _issue(client.post(ORDER_URL, json=body), 413)["code"] == "too-costly"
    _issue(client.post(FEEDBACK_URL, json={"feedback": [], "padding": "x" * 2_000}), 413)


def test_a_body_just_under_the_limit_is_read(make_app):
    body = json.dumps(_valid())
    client = make_app(max_body_bytes=len(body)).test_client()

    assert client.post(ORDER_URL, data=body, content_type="application/json").status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml",
                                          None])
def test_a_body_that_is_not_declared_json_is_a_415(client, content_type):
    kwargs = {"content_type": content_type} if content_type else {}

    issue = _issue(client.post(ORDER_URL, data=json.dumps(_valid()), **kwargs), 415)
    _issue(client.post(FEEDBACK_URL, data=json.dumps({"feedback": []}), **kwargs), 415)

    assert issue["code"] == "not-supported"


def test_json_with_a_charset_or_a_fhir_json_type_is_accepted(client):
    data = json.dumps(_valid())

    assert client.post(ORDER_URL, data=data, content_type="application/json; charset=utf-8").status_code == 200
    assert client.post(ORDER_URL, data=data, content_type="application/fhir+json").status_code == 200


def test_an_invalid_feedback_is_a_400_naming_the_field(client):
    issue = _issue(client.post(FEEDBACK_URL, json={"feedback": [{"card": "c", "outcome": "accepted",
                                                                "outcomeTimestamp": "2026-11-25T12:00:00Z"}]}), 400)

    assert "acceptedSuggestions" in issue["diagnostics"]


class _ResetMidBody(io.RawIOBase):
    """A request body whose client resets the connection after the first bytes."""

    def __init__(self):
        self.sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.sent:
            raise ConnectionResetError("connection reset by peer")
        self.sent = True
        buffer[:2] = b'{"'
        return 2


@pytest.mark.parametrize("stream, reason", [(_ResetMidBody, "went away"), (lambda: io.BytesIO(b'{"hook":'), "short")])
def test_a_body_cut_off_before_its_content_length_is_a_400_not_a_500(app, stream, reason):
    environ = EnvironBuilder(path=ORDER_URL, method="POST", content_type="application/json").get_environ()
    environ.update({"wsgi.input": stream(), "CONTENT_LENGTH": "500"})  # declared 500, fewer arrive
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    response = Response(b"".join(body), status=status, headers=headers)
    assert reason in _issue(response, 400)["diagnostics"]
