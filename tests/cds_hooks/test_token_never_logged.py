"""The FHIR access token is used for that request's reads only: it never appears in a log line, an answer, or the
database, whatever happens to the request (success, failed read, timeout, 400, 412, unexpected error)."""

from __future__ import annotations

import logging

import requests
from sqlalchemy import MetaData, select

from cds_hooks.logs import JsonFormatter
from service.services import ORDER_SERVICE_ID, SCREENING_SERVICE_ID
from tests.builders import hook_request, medication_request, patient
from tests.cds_hooks.helpers import hello_request, toy_patient
from tests.cds_hooks.toy import FHIR_BASE

TOKEN = "secret-token-9d2f41c7b8"


def _capture(caplog) -> None:
    """create_app installs its own root handler; put pytest's capture back beside it, at DEBUG."""
    root = logging.getLogger()
    if caplog.handler not in root.handlers:
        root.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)


def _everything_logged(caplog, capfd) -> str:
    formatter = JsonFormatter()
    return "\n".join([caplog.text, *(formatter.format(r) for r in caplog.records), *capfd.readouterr()])


def _database_text(engine) -> str:
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(str(row) for table in metadata.sorted_tables for row in conn.execute(select(table)))


def _with_token(body: dict) -> dict:
    return body | {"fhirServer": FHIR_BASE, "fhirAuthorization": {"access_token": TOKEN, "token_type": "Bearer",
                                                                 "expires_in": 30, "scope": "user/*.read",
                                                                 "subject": "cds"}}


def test_the_real_app_never_logs_stores_or_returns_the_access_token(make_app, ehr, caplog, capfd):
    app = make_app()
    _capture(caplog)
    client = app.test_client()
    ehr.add(patient())
    answers = [client.post(f"/cds-services/{ORDER_SERVICE_ID}",
                           json=_with_token(hook_request(orders=[medication_request()])))]
    ehr.failures["Observation"] = requests.exceptions.ReadTimeout(f"read timed out, token {TOKEN}")
    ehr.failures["Condition"] = 500
    answers.append(client.post(f"/cds-services/{ORDER_SERVICE_ID}",
                               json=_with_token(hook_request(orders=[medication_request()]))))
    ehr.failures["Patient"] = 401
    answers.append(client.post(f"/cds-services/{SCREENING_SERVICE_ID}", json=_with_token(hook_request("patient-view"))))
    no_server = _with_token(hook_request("patient-view"))
    del no_server["fhirServer"]
    answers.append(client.post(f"/cds-services/{SCREENING_SERVICE_ID}", json=no_server))
    bad_type = _with_token(hook_request("patient-view"))
    bad_type["fhirAuthorization"]["token_type"] = TOKEN
    answers.append(client.post(f"/cds-services/{SCREENING_SERVICE_ID}", json=bad_type))

    assert [a.status_code for a in answers] == [200, 200, 412, 400, 400]
    assert all(TOKEN in (c.authorization or "") for c in ehr.calls), "the token was used for the reads"
    assert caplog.records, "the capture works: these calls are logged"
    assert TOKEN not in _everything_logged(caplog, capfd)
    assert not any(TOKEN in a.get_data(as_text=True) for a in answers)
    assert TOKEN not in _database_text(app.extensions["inotuzumab"]["store"].engine)


def test_an_unexpected_error_quoting_the_token_is_logged_by_type_and_place_only(make_toy_app, ehr, caplog, capfd):
    toy = make_toy_app(handler_error=RuntimeError(f"boom while using {TOKEN}"))
    _capture(caplog)
    ehr.add(toy_patient())
    body = hello_request() | {"fhirAuthorization": {"access_token": TOKEN}}

    response = toy.app.test_client().post("/cds-services/broken", json=body)

    assert response.status_code == 500 and response.json["issue"][0]["diagnostics"] == "Internal error"
    logged = _everything_logged(caplog, capfd)
    assert "RuntimeError" in logged and TOKEN not in logged and "boom" not in logged
    assert TOKEN not in response.get_data(as_text=True)
