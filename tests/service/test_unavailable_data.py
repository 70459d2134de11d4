"""Data the EHR could not give is never read as "none": no history is not cycle 1, no active orders is not
"premedication missing"."""

import re

import responses

from tests.builders import bundle, hook_request, medication_request, observation, patient

FHIR = "https://ehr.example.org/fhir"


def _request(prefetch):
    order = medication_request(dose=0.8, dose_unit="mg/m2")
    body = hook_request(orders=[order], prefetch=prefetch, fhirServer=FHIR,
                        fhirAuthorization={"access_token": "t0k3n", "token_type": "Bearer", "scope": "patient/*.read",
                                           "subject": "cds"})
    return body


def _assessment(response):
    return response.json["cards"][0]["extension"]["inotuzumab-cds.assessment"]


@responses.activate
def test_unreachable_inotuzumab_history_leaves_the_regimen_undetermined(client):
    """Should not dose as cycle 1 when the inotuzumab history could not be fetched."""
    responses.add(responses.GET, re.compile(re.escape(FHIR) + r"/(MedicationRequest|MedicationAdministration)\?.*"),
                  status=503)
    prefetch = {"patient": patient("2020-01-15"), "diagnoses": bundle(), "leukemiaMarkers": bundle(),
                "labs": bundle(), "activeMedications": bundle(), "transplants": None,
                "bodyMeasurements": bundle(observation("8302-2", value=110, unit="cm"),
                                           observation("29463-7", value=19, unit="kg"))}
    response = client.post("/cds-services/inotuzumab-order-check", json=_request(prefetch))

    assert response.status_code == 200
    assert _assessment(response)["dosing"]["regimen"] == "undetermined"
    assert any("could not be retrieved" in (card.get("detail") or "") for card in response.json["cards"])


@responses.activate
def test_unreachable_active_medications_make_premedication_not_assessable(client):
    """Should say premedication cannot be checked, and offer no duplicate orders, when active orders are unreadable."""
    responses.add(responses.GET, re.compile(re.escape(FHIR) + r"/MedicationRequest\?.*status=active.*"), status=500)
    prefetch = {"patient": patient("2020-01-15"), "diagnoses": bundle(), "leukemiaMarkers": bundle(),
                "labs": bundle(), "inotuzumabHistory": bundle(), "inotuzumabAdministrations": bundle(),
                "bodyMeasurements": bundle(observation("8302-2", value=110, unit="cm"),
                                           observation("29463-7", value=19, unit="kg"))}
    response = client.post("/cds-services/inotuzumab-order-check", json=_request(prefetch))

    assert response.status_code == 200
    premedication = _assessment(response)["premedication"]
    assert premedication["status"] == "not-assessable"
    creates = [a for card in response.json["cards"] for s in card.get("suggestions", ()) for a in s["actions"]
               if a["type"] == "create" and a["resource"]["resourceType"] == "MedicationRequest"]
    assert creates == []
