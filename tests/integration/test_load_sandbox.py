"""load-sandbox against a faked FHIR server (responses): transaction first, PUTs when refused, failures named."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
import requests
import responses
from click.testing import CliRunner

from service.cli import main
from service.sandbox import load_manifest, load_sandbox
from service.sandbox.data import materialised_on, resources_of
from service.sandbox.loader import format_loads, wait_for_server

BASE = "http://fhir.test/fhir"


@pytest.fixture
def manifest():
    return load_manifest()


def _transaction_ok(request):
    bundle = json.loads(request.body)
    entries = [{"response": {"status": "200 OK"}} for _ in bundle["entry"]]
    return 200, {}, json.dumps({"resourceType": "Bundle", "type": "transaction-response", "entry": entries})


@responses.activate
def test_each_bundle_is_sent_as_one_transaction_shared_resources_first(manifest):
    responses.add_callback(responses.POST, BASE, callback=_transaction_ok)
    results = load_sandbox(manifest, BASE, token="secret-token", today=date(2027, 2, 3))
    assert [r.method for r in results] == ["transaction"] * len(manifest.bundle_paths())
    assert all(r.ok for r in results)
    first = json.loads(responses.calls[0].request.body)
    assert {r["resourceType"] for r in resources_of(first)} == {"Organization", "Practitioner", "Medication"}
    assert responses.calls[0].request.headers["Authorization"] == "Bearer secret-token"
    assert responses.calls[0].request.headers["Content-Type"] == "application/fhir+json"


@responses.activate
def test_the_loaded_records_carry_todays_dates_and_fixed_ids(manifest):
    responses.add_callback(responses.POST, BASE, callback=_transaction_ok)
    load_sandbox(manifest, BASE, today=date(2027, 2, 3))
    sent = [json.loads(call.request.body) for call in responses.calls]
    patients = [r for b in sent for r in resources_of(b) if r["resourceType"] == "Patient"]
    assert {materialised_on(p) for p in patients} == {"2027-02-03"}
    assert all(b["timestamp"].startswith("2027-02-03") for b in sent)
    assert all(e["request"]["method"] == "PUT" and e["request"]["url"] == f"{e['resource']['resourceType']}/"
               f"{e['resource']['id']}" for b in sent for e in b["entry"])


@responses.activate
def test_loading_twice_sends_the_same_puts(manifest):
    """Idempotent by construction: the same ids, the same content, on the same day."""
    responses.add_callback(responses.POST, BASE, callback=_transaction_ok)
    load_sandbox(manifest, BASE, today=date(2027, 2, 3))
    first = [call.request.body for call in responses.calls]
    load_sandbox(manifest, BASE, today=date(2027, 2, 3))
    assert [call.request.body for call in responses.calls[len(first):]] == first


@responses.activate
def test_a_refused_transaction_falls_back_to_one_put_per_record_and_names_failures(manifest):
    responses.add(responses.POST, BASE, status=501, json={
        "resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "transactions off"}]})
    responses.add(responses.PUT, f"{BASE}/Patient/inoz-t-all", status=422, json={
        "resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "bad gender"}]})
    responses.add(responses.PUT, re.compile(rf"{BASE}/.*"), status=200, json={})
    results = load_sandbox(manifest, BASE, today=date(2027, 2, 3))
    assert {r.method for r in results} == {"put"}
    assert "HTTP 501 (transactions off)" in results[0].note
    failed = [r for r in results if not r.ok]
    assert [r.name for r in failed] == ["t-all"]
    assert failed[0].failures == ["PUT Patient/inoz-t-all: HTTP 422 (bad gender)"]
    puts = [c for c in responses.calls if c.request.method == "PUT"]
    assert len(puts) == sum(r.resources for r in results)
    assert "1 failed." in format_loads(results, BASE)


@responses.activate
def test_a_transaction_with_a_failed_entry_is_retried_as_puts(manifest):
    def partial(request):
        entries = [{"response": {"status": "200 OK"}} for _ in json.loads(request.body)["entry"]]
        entries[-1] = {"response": {"status": "400 Bad Request"}}
        return 200, {}, json.dumps({"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
    responses.add_callback(responses.POST, BASE, callback=partial)
    responses.add(responses.PUT, re.compile(rf"{BASE}/.*"), status=201, json={})
    results = load_sandbox(manifest, BASE, today=date(2027, 2, 3))
    assert all(r.method == "put" and r.ok for r in results)
    assert "400 Bad Request" in results[0].note


@responses.activate
def test_waiting_for_the_server_polls_metadata_until_it_answers():
    responses.add(responses.GET, f"{BASE}/metadata", status=503)
    responses.add(responses.GET, f"{BASE}/metadata", status=200, json={"resourceType": "CapabilityStatement"})
    wait_for_server(BASE, requests.Session(), 5, poll_s=0)
    assert len(responses.calls) == 2


@responses.activate
def test_a_server_that_never_gets_ready_is_reported_with_its_last_answer():
    responses.add(responses.GET, f"{BASE}/metadata", status=503)
    with pytest.raises(ConnectionError, match="HTTP 503"):
        wait_for_server(BASE, requests.Session(), 0, poll_s=0)


@responses.activate
def test_the_cli_prints_a_table_and_exits_non_zero_when_a_record_failed():
    responses.add(responses.POST, BASE, status=400, json={"resourceType": "OperationOutcome", "issue": []})
    responses.add(responses.PUT, re.compile(rf"{BASE}/.*"), status=500, json={})
    responses.add(responses.GET, f"{BASE}/metadata", status=200, json={})
    result = CliRunner().invoke(main, ["load-sandbox", "--fhir-base", BASE])
    assert result.exit_code == 1
    assert "shared" in result.output and "FAILED" in result.output
