"""Tokens, JWTs, names, birth dates and identifiers planted in requests and in the EHR's FHIR answers never
reach the JSON logs (at DEBUG, the most verbose level) nor any database row."""

from __future__ import annotations

import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import select

from cds_hooks.storage import metadata
from tests.builders import NOW, bundle, condition, hook_request, medication_request, observation, patient
from tests.security.tokens import ISSUER, ORDER_AUD, BASE_URL, jwks

ACCESS_TOKEN = "AT-PLANTED-9f8e7d6c5b4a3921"
GIVEN, FAMILY = "Zebulonxq", "Quillfeatherxyz"
BIRTH_DATE = "1971-02-03"
MRN, SSN = "MRN-PLANTED-55501", "999-12-3456"
PATIENT_ID = "pat-PLANTED-7781"
USER = "prac-PLANTED-4242"
PHONE = "+1-555-0199-777"


def planted_patient() -> dict:
    return patient(BIRTH_DATE, patient_id=PATIENT_ID, name=[{"family": FAMILY, "given": [GIVEN]}],
                   identifier=[{"system": "urn:oid:1.2.3.4", "value": MRN},
                               {"system": "http://hl7.org/fhir/sid/us-ssn", "value": SSN}],
                   telecom=[{"system": "phone", "value": PHONE}])


def planted_resources() -> list[dict]:
    named = {"performer": [{"display": f"{GIVEN} {FAMILY}"}], "note": [{"text": f"MRN {MRN}, born {BIRTH_DATE}"}]}
    return [observation("29463-7", value=61, unit="kg", patient_id=PATIENT_ID, **named),
            observation("8302-2", value=170, unit="cm", patient_id=PATIENT_ID, **named),
            # unreadable on purpose: the failing value is a name and must not be echoed anywhere
            observation("29463-7", patient_id=PATIENT_ID, valueQuantity={"value": f"{GIVEN}", "unit": "kg"}),
            condition("C91.00", patient_id=PATIENT_ID, note=[{"text": f"{FAMILY} relapsed"}])]


class FhirServer(BaseHTTPRequestHandler):
    """A FHIR server on loopback answering with planted data; it records the tokens it was sent."""

    seen_tokens: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        FhirServer.seen_tokens.append(self.headers.get("Authorization", ""))
        path = urlsplit(self.path).path
        if path == f"/fhir/Patient/{PATIENT_ID}":
            body = planted_patient()
        else:
            kind = path.rsplit("/", 1)[-1]
            body = bundle(*[r for r in planted_resources() if r["resourceType"] == kind])
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):  # keep the test server quiet
        pass


@pytest.fixture
def fhir_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FhirServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FhirServer.seen_tokens = []
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(make_app, tmp_path, es384):
    clients = {"clients": [{"iss": ISSUER, "jwks": jwks(es384), "fhir_hosts": ["127.0.0.1"]}]}
    (tmp_path / "clients.yaml").write_text(yaml.safe_dump(clients))
    return make_app(auth_disabled=False, trusted_clients=str(tmp_path / "clients.yaml"), public_base_url=BASE_URL,
                    log_level="DEBUG", prefetch_deadline_s=5, fhir_timeout_s=5)


@pytest.fixture
def log_output(app):
    """The configured JSON log handler, pointed at a buffer: exactly what production would write."""
    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_cds_json", False)]
    assert handlers, "create_app configured the JSON log handler"
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous):
        handler.setStream(stream)


def exercise(app, es384, fhir_server) -> list[str]:
    """Every kind of call, each carrying planted PHI. :return: the JWTs sent (they are secrets too)."""
    client = app.test_client()
    auth = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "scope": "patient/*.read", "subject": "cds",
            "expires_in": 300, "patient": PATIENT_ID}
    order = medication_request(patient_id=PATIENT_ID, note=[{"text": f"for {GIVEN} {FAMILY} {MRN}"}])
    calls = [
        ("/cds-services/inotuzumab-order-check", ORDER_AUD,
         hook_request(orders=[order], patient_id=PATIENT_ID, fhirServer=fhir_server, fhirAuthorization=auth)),
        ("/cds-services/inotuzumab-patient-screening", f"{BASE_URL}/cds-services/inotuzumab-patient-screening",
         hook_request("patient-view", patient_id=PATIENT_ID, fhirServer=fhir_server, fhirAuthorization=auth)),
        ("/cds-services/inotuzumab-order-check", ORDER_AUD,   # everything prefetched, nothing fetched
         hook_request(orders=[order], patient_id=PATIENT_ID,
                      prefetch={"patient": planted_patient(), "labs": bundle(*planted_resources())})),
        ("/cds-services/inotuzumab-order-check", ORDER_AUD,   # 412: fhirServer off the allowlist
         hook_request(orders=[order], patient_id=PATIENT_ID, fhirServer="http://elsewhere.example/fhir",
                      fhirAuthorization=auth)),
        ("/cds-services/inotuzumab-order-check", ORDER_AUD,   # 400: a planted value in a wrong place
         {"hook": "order-sign", "hookInstance": MRN, "context": {"patientId": PATIENT_ID, "userId": USER,
                                                                  "draftOrders": f"{GIVEN} {FAMILY}"}}),
    ]
    tokens, statuses, cards = [], [], []
    for path, aud, body in calls:
        body.setdefault("context", {})["userId"] = f"Practitioner/{USER}"
        token = es384.token(NOW, tenant="tenant-a", aud=aud, sub=f"{GIVEN} {FAMILY}")
        tokens.append(token)
        answer = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        statuses.append(answer.status_code)
        cards += [c["uuid"] for c in (answer.json or {}).get("cards", [])]
    # A token from an issuer we do not trust (its claimed iss is logged to diagnose configuration mistakes).
    forged = es384.token(NOW, tenant="tenant-a", aud=ORDER_AUD, iss="https://untrusted.example", sub=MRN)
    tokens.append(forged)
    statuses.append(client.post(calls[0][0], json=calls[0][2], headers={"Authorization": f"Bearer {forged}"}).status_code)
    feedback_token = es384.token(NOW, tenant="tenant-a", aud=f"{ORDER_AUD}/feedback")
    tokens.append(feedback_token)
    feedback = {"feedback": [{"card": cards[0], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:01:00Z",
                              "overrideReason": {"reason": {"system": "http://example.org/r", "code": "x"}},
                              "patientName": f"{GIVEN} {FAMILY}"}]}
    statuses.append(client.post("/cds-services/inotuzumab-order-check/feedback", json=feedback,
                                headers={"Authorization": f"Bearer {feedback_token}"}).status_code)
    assert statuses == [200, 200, 200, 412, 400, 401, 200], statuses
    return tokens


def database_text(app) -> str:
    store = app.extensions["inotuzumab"]["store"]
    with store.engine.connect() as conn:
        return "\n".join(repr(row) for table in metadata.sorted_tables for row in conn.execute(select(table)).all())


def test_planted_secrets_and_identifiers_reach_neither_logs_nor_database(app, es384, fhir_server, log_output, capfd):
    tokens = exercise(app, es384, fhir_server)
    captured = capfd.readouterr()
    logs, stored = log_output.getvalue() + captured.err + captured.out, database_text(app)

    assert f"Bearer {ACCESS_TOKEN}" in FhirServer.seen_tokens, "the access token was really used"
    assert logging.getLogger().level == logging.DEBUG, "the most verbose level was on"
    assert logs.count('"msg":"hook call"') == 3, "the calls were logged (and searched)"
    assert "inotuzumab-order-check" in stored and "overridden" in stored, "audit and feedback rows were written"
    planted = [ACCESS_TOKEN, GIVEN, FAMILY, BIRTH_DATE, MRN, SSN, PATIENT_ID, USER, PHONE]
    planted += tokens + [t.split(".")[2] for t in tokens]
    for secret in planted:
        assert secret not in logs, f"{secret[:20]}... reached the logs"
        assert secret not in stored, f"{secret[:20]}... reached the database"


def test_every_log_line_is_json_with_the_documented_event_fields(app, es384, fhir_server, log_output):
    exercise(app, es384, fhir_server)
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    calls = [line for line in lines if line["msg"] == "hook call"]
    assert len(calls) == 3
    for line in calls:
        assert {"hookInstance", "service", "hook", "issuer", "tenant", "ms", "cards", "indicators",
                "prefetchFetched", "prefetchSupplied"} <= set(line)
        assert line["issuer"] == ISSUER and line["tenant"] == "tenant-a"
    assert any(line.get("reason") == "issuer not trusted" for line in lines), "refusals say why"
