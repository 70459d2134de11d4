"""The smoke harness against a faked FHIR server and service (responses): what it sends in each mode, how it
judges the answers, and its exit status."""

from __future__ import annotations

import json
import re
from datetime import date

import jwt
import pytest
import responses
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from service.assessment import EXTENSION_KEY
from service.cli import main
from service.sandbox import ClientJwt, Manifest, Smoke, load_manifest
from service.sandbox.data import MATERIALISED_ON, SandboxPatient

FHIR = "http://fhir.test/fhir"
SERVICE = "http://cds.test"
PATIENT = "inoz-eligible-child"
ORDER = f"MedicationRequest/{PATIENT}-draft-inotuzumab"
DISCOVERY = {"services": [
    {"id": "screen", "hook": "patient-view", "description": "d",
     "prefetch": {"patient": "Patient/{{context.patientId}}", "labs": "Observation?patient={{context.patientId}}"}},
    {"id": "check", "hook": "order-select", "description": "d",
     "prefetch": {"patient": "Patient/{{context.patientId}}"}},
    {"id": "check", "hook": "order-sign", "description": "d",
     "prefetch": {"patient": "Patient/{{context.patientId}}", "broken": "Condition?patient={{context.patientId}}"}},
]}


def _manifest(expect: dict) -> Manifest:
    real = load_manifest()
    source = real.patient(PATIENT)
    patient = SandboxPatient(PATIENT, source.bundle_path, source.orders_path, "", expect)
    return Manifest(real.directory, real.shared_paths, {"patient-view": "screen", "order-select": "check",
                                                        "order-sign": "check"}, (patient,))


def _card(verdict: str = "eligible", order: str | None = ORDER) -> dict:
    assessment = {"verdict": verdict, "knowledgeVersion": "v", "criteria": {}, **({"order": order} if order else {})}
    return {"summary": f"Inotuzumab {verdict}", "indicator": "info", "source": {"label": "label"},
            "extension": {EXTENSION_KEY: assessment}}


@pytest.fixture
def servers():
    """The FHIR server answers reads and searches; the service answers with one card per hook."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, f"{SERVICE}/cds-services", json=DISCOVERY)
        mock.add(responses.GET, f"{FHIR}/Patient/{PATIENT}", json={
            "resourceType": "Patient", "id": PATIENT, "extension": [{"url": MATERIALISED_ON,
                                                                     "valueDate": "2027-02-03"}]})
        mock.add(responses.GET, re.compile(rf"{FHIR}/Observation\?.*"), json={
            "resourceType": "Bundle", "type": "searchset", "entry": [],
            "link": [{"relation": "next", "url": f"{FHIR}/Observation?page=2"}]})
        mock.add(responses.GET, re.compile(rf"{FHIR}/Condition\?.*"), status=400, json={
            "resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "no such param"}]})

        def answer(request):
            body = json.loads(request.body)
            order = ORDER if body["hook"] != "patient-view" else None
            return 200, {}, json.dumps({"cards": [_card(order=order)]})
        mock.add_callback(responses.POST, re.compile(rf"{SERVICE}/cds-services/.*"), callback=answer)
        yield mock


def _posts(mock) -> list[dict]:
    return [json.loads(c.request.body) for c in mock.calls if c.request.method == "POST"]


def _smoke(expect: dict, **options) -> Smoke:
    return Smoke(_manifest(expect), FHIR, SERVICE, today=lambda: date(2027, 2, 3), **options)


def test_each_hook_is_called_twice_with_prefetch_filled_from_the_server_and_without(servers):
    report = _smoke({"orders": {"verdict": "eligible"}, "patient-view": {"cards": 1}}).run()
    assert report.ok, [c.mismatches for c in report.calls]
    posts = _posts(servers)
    assert [(p["hook"], "prefetch" in p) for p in posts] == [
        (h, m) for h in ("patient-view", "order-select", "order-sign") for m in (True, False)]
    view = posts[0]
    assert view["prefetch"]["patient"]["id"] == PATIENT
    assert view["prefetch"]["labs"]["link"][0]["relation"] == "next", "the first page is sent as the server paged it"
    assert all(p["fhirServer"] == FHIR and p["context"]["patientId"] == PATIENT for p in posts)


def test_order_hooks_carry_the_patients_draft_orders_and_order_select_selects_the_inotuzumab_order(servers):
    _smoke({}).run()
    select, sign = _posts(servers)[2], _posts(servers)[4]
    drafts = [e["resource"]["id"] for e in sign["context"]["draftOrders"]["entry"]]
    assert f"{PATIENT}-draft-inotuzumab" in drafts and len(drafts) == 4
    assert select["context"]["selections"] == [ORDER]
    assert sign["context"]["draftOrders"]["entry"][0]["resource"]["authoredOn"] == "2027-02-03"


def test_a_query_the_server_refuses_is_left_out_and_reported(servers):
    report = _smoke({}).run()
    sign_with_prefetch = _posts(servers)[4]
    assert set(sign_with_prefetch["prefetch"]) == {"patient"}
    assert any("'broken'" in note and "HTTP 400" in note and "no such param" in note for note in report.notes)
    assert any("'labs'" in note and "paged" in note for note in report.notes)


def test_an_answer_that_differs_from_the_manifest_fails_the_run_and_names_the_difference(servers):
    report = _smoke({"orders": {"verdict": "not-eligible"}}).run()
    assert not report.ok
    failed = [c for c in report.calls if not c.ok]
    assert {(c.hook, c.mode) for c in failed} == {(h, m) for h in ("order-select", "order-sign")
                                                  for m in ("prefetch", "fetch")}
    assert failed[0].mismatches == ["verdict: expected not-eligible, got eligible"]


def test_different_answers_with_and_without_prefetch_are_a_mismatch(servers):
    def answer(request):
        body = json.loads(request.body)
        return 200, {}, json.dumps({"cards": [_card("eligible" if "prefetch" in body else "insufficient-data",
                                                    order=None)]})
    servers.remove(responses.POST, re.compile(rf"{SERVICE}/cds-services/.*"))
    servers.add_callback(responses.POST, re.compile(rf"{SERVICE}/cds-services/.*"), callback=answer)
    report = _smoke({}).run()
    fetch_calls = [c for c in report.calls if c.mode == "fetch"]
    assert all("the answer differs from the prefetch mode's answer" in c.mismatches for c in fetch_calls)


def test_an_error_status_from_the_service_is_a_mismatch_with_its_diagnostics(servers):
    servers.replace(responses.POST, re.compile(rf"{SERVICE}/cds-services/.*"), status=412, json={
        "resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "patient missing"}]})
    report = _smoke({}).run()
    assert {c.got for c in report.calls} == {"HTTP 412"}
    assert report.calls[0].mismatches == ["HTTP 412: patient missing"]


def test_patients_loaded_on_another_day_are_reported_as_drifting(servers):
    report = Smoke(_manifest({}), FHIR, SERVICE, today=lambda: date(2027, 2, 9)).run()
    assert any("2027-02-03" in note and "load-sandbox again" in note for note in report.notes)
    assert not any("load-sandbox again" in note for note in _smoke({}).run().notes)


def test_the_service_url_the_service_fetches_from_can_differ_from_the_harness(servers):
    _smoke({}, service_fhir_base="http://fhir:8080/fhir", token="tok").run()
    posts = _posts(servers)
    assert {p["fhirServer"] for p in posts} == {"http://fhir:8080/fhir"}
    assert posts[0]["fhirAuthorization"]["access_token"] == "tok"
    reads = [c.request for c in servers.calls if c.request.method == "GET" and "/fhir/" in c.request.url]
    assert reads and all(r.headers["Authorization"] == "Bearer tok" for r in reads)


def test_calls_are_signed_as_a_cds_client_when_a_key_is_given(servers):
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    _smoke({}, signer=ClientJwt(pem, "https://ehr.example", "k1")).run()
    post = next(c.request for c in servers.calls if c.request.method == "POST")
    token = post.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, key.public_key(), algorithms=["ES384"], audience=post.url)
    assert claims["iss"] == "https://ehr.example" and claims["jti"]
    assert jwt.get_unverified_header(token)["kid"] == "k1"


def test_the_cli_prints_the_table_writes_a_report_and_exits_1_on_a_mismatch(servers, tmp_path):
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["smoke", "--fhir-base", FHIR, "--service", SERVICE, "--patient", PATIENT,
                                       "--report", str(report_path)])
    assert result.exit_code == 1   # the real manifest expects dosing etc. that the fake service does not send
    assert "patient" in result.output and "MISMATCH" in result.output and "calls matched the manifest" in result.output
    written = json.loads(report_path.read_text())
    assert written["ok"] is False and len(written["calls"]) == 6


def test_the_cli_exits_2_when_the_service_has_no_discovery():
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, f"{SERVICE}/cds-services", status=503)
        result = CliRunner().invoke(main, ["smoke", "--fhir-base", FHIR, "--service", SERVICE])
    assert result.exit_code == 2
    assert "discovery" in result.output
