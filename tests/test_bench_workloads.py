"""The benchmark's workloads are deterministic, valid hook requests, and its machinery runs (no timing asserted)."""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import urlopen

import pytest
from fhir.resources.R4B import get_fhir_model_class

from bench import inprocess, workloads
from bench.echo_app import resources_in
from bench.fhir_stub import FhirStub
from bench.load import run_python
from bench.measure import Figure, check, percentile, process_tree, rss_bytes, tree_cpu_seconds
from cds_hooks.schemas import load_hook_request

ANCHOR = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
SMALL_HEAVY = {"observations": 40, "conditions": 5, "medications": 10, "procedures": 3}


@pytest.fixture(scope="module")
def templates():
    return workloads.order_templates()


def test_the_same_seed_and_anchor_give_byte_identical_workloads(templates):
    assert workloads.encode(workloads.light(ANCHOR, templates)) == workloads.encode(workloads.light(ANCHOR, templates))
    assert workloads.encode(workloads.heavy(ANCHOR, templates)) == workloads.encode(workloads.heavy(ANCHOR, templates))
    assert workloads.encode(workloads.light(ANCHOR, templates, seed=1)) != workloads.encode(
        workloads.light(ANCHOR, templates))


def test_light_and_heavy_are_valid_order_sign_requests_whose_resources_all_validate(templates):
    for body in (workloads.light(ANCHOR, templates), workloads.heavy(ANCHOR, templates)):
        request = load_hook_request(body)
        assert request.hook == "order-sign" and request.patient_id == workloads.PATIENT_ID
        for resource in resources_in(body):
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_heavy_has_the_long_record_the_issue_asks_for(templates):
    body = workloads.heavy(ANCHOR, templates)
    counts = workloads.count_resources(body)
    assert counts["Observation"] >= 1500 and counts["Condition"] >= 80 and counts["Procedure"] >= 40
    assert counts["MedicationRequest"] - 1 >= 300   # besides the draft order
    assert len(workloads.encode(body)) > 2_000_000


def test_light_prefetch_holds_about_thirty_records_each_under_a_key_that_asks_for_its_code(templates):
    body = workloads.light(ANCHOR, templates)
    assert set(body["prefetch"]) == set(templates)
    assert 25 <= sum(workloads.count_resources(body).values()) <= 40
    for key, value in body["prefetch"].items():
        kind, codes, _ = workloads.parse_template(templates[key])
        for resource in [e["resource"] for e in value["entry"]] if value["resourceType"] == "Bundle" else [value]:
            assert resource["resourceType"] == kind
            assert kind == "Patient" or workloads.resource_codes(resource) & codes, (key, resource["id"])


def test_no_prefetch_request_has_no_prefetch_and_the_light_draft_order(templates):
    light = workloads.light(ANCHOR, templates)
    body = workloads.no_prefetch("http://127.0.0.1:1/fhir", ANCHOR)
    assert "prefetch" not in body and body["fhirServer"] == "http://127.0.0.1:1/fhir"
    assert body["context"]["draftOrders"] == light["context"]["draftOrders"]


def test_fhir_stub_answers_reads_and_code_filtered_searches():
    with FhirStub(workloads.light_resources(ANCHOR), delay_s=0) as stub:
        with urlopen(f"{stub.base_url}/Patient/{workloads.PATIENT_ID}") as response:
            assert b'"resourceType": "Patient"' in response.read()
        with urlopen(f"{stub.base_url}/Observation?patient=x&code=http://loinc.org|8302-2") as response:
            bundle = json.load(response)
    assert [e["resource"]["code"]["coding"][0]["code"] for e in bundle["entry"]] == ["8302-2", "8302-2"]
    assert stub.queries == 2


@pytest.fixture
def restored_process_state():
    """The in-process figures silence the root log handler and freeze the GC heap: undo both afterwards."""
    handlers = logging.getLogger().handlers[:]
    yield
    gc.unfreeze()
    logging.getLogger().handlers[:] = handlers


def test_a_tiny_in_process_run_gives_every_figure_a_verdict(tmp_path, templates, restored_process_state):
    light = workloads.light(ANCHOR, templates)
    heavy = workloads.heavy(ANCHOR, templates, **SMALL_HEAVY)
    apps = inprocess.make_apps(str(tmp_path))
    figures = inprocess.figure_1(apps, workloads.encode(light), workloads.encode(heavy), 1, 1)
    figures += inprocess.figure_3(apps, light, workloads.light_resources(ANCHOR),
                                  lambda url: workloads.no_prefetch(url, ANCHOR), 1, templates, delay_s=0.01)
    assert [f.section for f in figures] == ["1 in-process"] * 4 + ["3 no-prefetch"] * 2
    for figure in figures:
        assert figure.line().startswith(("[PASS]", "[FAIL]"))
    assert figures[1].passed and figures[3].passed, "the inotuzumab order must get cards in both workloads"
    assert figures[5].passed, "the fetched light data must give the same cards as the light prefetch"


def test_verdicts_compare_the_ratio_with_its_limit():
    assert Figure("s", "n", 1.4, 1.0, 1.5).passed and not Figure("s", "n", 1.6, 1.0, 1.5).passed
    assert not check("s", "n", False).passed and check("s", "n", True).line() == "[PASS] s n"
    assert percentile(list(range(1, 101)), 50) == pytest.approx(50.5)
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200 if self.path == "/ok" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_load_client_counts_every_request_and_every_error():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        ok = run_python(f"{base}/ok", b"{}", count=25, connections=4)
        failing = run_python(f"{base}/fail", b"{}", count=7, connections=3)
    finally:
        server.shutdown()
        server.server_close()
    assert (ok.requests, ok.errors) == (25, 0)
    assert (failing.requests, failing.errors) == (7, 7)
    with pytest.raises(ValueError):
        run_python("http://192.0.2.1/x", b"{}", count=1)


def test_load_client_opens_a_new_connection_every_n_requests_when_asked():
    ports: list[int] = []

    class Counting(_Answer):
        def do_POST(self):  # noqa: N802
            ports.append(self.client_address[1])  # one client port per connection
            super().do_POST()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        kept = run_python(f"{base}/ok", b"{}", count=12, connections=1)
        kept_ports, ports[:] = set(ports), []
        spread = run_python(f"{base}/ok", b"{}", count=12, connections=1, reconnect_every=4)
    finally:
        server.shutdown()
        server.server_close()
    assert (kept.requests, spread.requests, spread.errors) == (12, 12, 0)
    assert len(kept_ports) == 1 and len(set(ports)) == 3


def test_proc_readers_see_a_child_process_and_this_process_memory():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert child.pid in process_tree(os.getpid())
    finally:
        child.kill()
        child.wait()
    sum(i * i for i in range(200_000))
    assert tree_cpu_seconds(os.getpid()) > 0
    assert rss_bytes(os.getpid()) > 10 * 2**20
