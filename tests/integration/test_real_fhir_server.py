"""Against a real FHIR server: the sandbox loads, every prefetch query is answered, and the service gives the
manifest's answers whether the data comes as prefetch or is fetched by the service.

These start servers (see conftest.py), so they carry the ``integration`` mark; they run in CI with the rest.
"""

from __future__ import annotations

import pytest
import requests

from cds_hooks import HookRequest, render_template
from service.sandbox import load_manifest
from service.sandbox.data import HOOKS, read_json, resources_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def manifest():
    return load_manifest()


def _headers(server) -> dict:
    return {"Accept": "application/fhir+json", **({"Authorization": f"Bearer {server.token}"} if server.token else {})}


def test_the_sandbox_loads_and_loading_it_again_succeeds_too(loaded):
    """load-sandbox exits 0 on a fresh server and again on a loaded one (idempotent PUTs)."""
    first, second = loaded
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert " 0 failed." in second.stdout


def test_loading_twice_leaves_one_copy_of_every_record(fhir_server, loaded, manifest):
    """After two loads the server holds exactly as many of each patient's records as the Bundle has."""
    for patient in manifest.patients:
        bundle = read_json(patient.bundle_path)
        for kind in ("Observation", "Condition", "MedicationRequest", "Encounter"):
            expected = sum(1 for r in resources_of(bundle) if r["resourceType"] == kind)
            answer = requests.get(f"{fhir_server.base_url}/{kind}?patient={patient.id}&_summary=count",
                                  headers=_headers(fhir_server), timeout=30)
            assert answer.status_code == 200
            assert answer.json().get("total") == expected, f"{patient.id} {kind}"


def test_every_prefetch_template_in_discovery_is_answered_by_the_server(fhir_server, loaded, service, manifest):
    """Each discovery template, rendered for a sandbox patient, is a query the FHIR server answers with 200."""
    discovery = requests.get(f"{service.base_url}/cds-services", timeout=30).json()["services"]
    patient = manifest.patients[0].id
    for definition in discovery:
        request = HookRequest(definition["hook"], "probe", {"patientId": patient, "userId": "Practitioner/x"})
        for key, template in definition.get("prefetch", {}).items():
            answer = requests.get(f"{fhir_server.base_url}/{render_template(template, request)}",
                                  headers=_headers(fhir_server), timeout=30)
            assert answer.status_code == 200, f"{definition['hook']} {key}: HTTP {answer.status_code}"
            assert answer.json()["resourceType"] in ("Bundle", "Patient")


def test_smoke_matches_the_manifest_for_every_patient_hook_and_mode(smoke, manifest):
    """`smoke` exits 0: every patient, every hook, with and without prefetch, answered as the manifest says."""
    covered = {(c["patient"], c["hook"], c["mode"]) for c in smoke.report["calls"]}
    assert covered == {(p.id, hook, mode) for p in manifest.patients for hook in HOOKS
                       for mode in ("prefetch", "fetch")}
    assert smoke.returncode == 0, smoke.output


def test_prefetch_and_fetch_give_the_same_cards(smoke):
    """Whatever way the record reaches the service, it decides the same (checked apart from the manifest)."""
    for call in smoke.calls(mode="fetch"):
        assert not [m for m in call["mismatches"] if "differs from the prefetch" in m], call["patient"]
        assert call["response"] is not None, f"{call['patient']} {call['hook']}: {call['mismatches']}"


def test_the_service_could_read_everything_it_asked_the_server_for(smoke):
    """No card says data could not be retrieved: every query the service made itself succeeded in time."""
    for call in smoke.calls(mode="fetch"):
        for card in (call["response"] or {}).get("cards", []):
            assert "Could not retrieve" not in card.get("detail", ""), f"{call['patient']} {call['hook']}"
