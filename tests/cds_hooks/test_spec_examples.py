"""The spec's own request examples and the three hook definitions' R4 examples are accepted (fixtures extracted
verbatim into tests/fixtures/spec/, see sources.json), by the toy service and by the real app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cds_hooks import HookRequest, render_template, validate_response
from tests.cds_hooks.fake_ehr import FakeEhr
from tests.cds_hooks.helpers import AUTHORIZATION, ok_cards, outcome

SPEC = Path(__file__).parents[1] / "fixtures" / "spec"
# A copy of the CDS Hooks 2.0.1 text and hook definitions, kept with the fixtures extracted from it.
REFERENCE = Path(__file__).parents[1] / "fixtures" / "spec" / "reference"
SPEC_PATIENT = {"resourceType": "Patient", "id": "1288992", "gender": "male", "birthDate": "1925-12-23"}
HOOK_EXAMPLES = [("hook-order-sign-r4.json", "order-sign"), ("hook-order-select-r4.json", "order-select"),
                 ("hook-patient-view-1.json", "patient-view"), ("hook-patient-view-2.json", "patient-view")]
TOY_IDS = {"order-sign": "order-echo", "order-select": "order-echo", "patient-view": "hello-patient"}
REAL_IDS = {"order-sign": "inotuzumab-order-check", "order-select": "inotuzumab-order-check",
            "patient-view": "inotuzumab-patient-screening"}


def _fixture(name: str) -> dict:
    return json.loads((SPEC / name).read_text())


def _envelope(name: str, hook: str, base: str) -> dict:
    """A hook definition example is a context; an EHR sends it with a hookInstance and FHIR access."""
    return {"hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "fhirServer": base,
            "fhirAuthorization": AUTHORIZATION, **_fixture(name)}


def test_the_spec_calling_example_is_answered_by_the_toy_greeter(toy_client, rsps):
    body = _fixture("request-patient-view.json")
    ehr = FakeEhr(rsps, body["fhirServer"])

    cards = ok_cards(toy_client.post("/cds-services/hello-patient", json=body))

    assert cards[0]["summary"] == "Hello patient!", "the prefetched patientToGreet was used: it has no name"
    assert "Patient/1288992" not in ehr.paths()
    assert {c.authorization for c in ehr.calls} == {"Bearer some-opaque-fhir-access-token"}


def test_the_spec_calling_example_is_answered_by_the_real_screening_service(client, rsps):
    body = _fixture("request-patient-view.json")
    ehr = FakeEhr(rsps, body["fhirServer"]).add(SPEC_PATIENT)

    ok_cards(client.post("/cds-services/inotuzumab-patient-screening", json=body))

    assert "Patient/1288992" in ehr.paths(), "patientToGreet is not one of its keys, so it reads the Patient"


@pytest.mark.parametrize("name, hook", HOOK_EXAMPLES)
def test_each_hook_definition_r4_example_is_accepted_by_the_toy(toy_client, rsps, name, hook):
    FakeEhr(rsps, "https://ehr.example.org/r4").add(SPEC_PATIENT)

    body = _envelope(name, hook, "https://ehr.example.org/r4")

    ok_cards(toy_client.post(f"/cds-services/{TOY_IDS[hook]}", json=body))


@pytest.mark.parametrize("name, hook", HOOK_EXAMPLES)
def test_each_hook_definition_r4_example_is_accepted_by_the_real_app(client, rsps, name, hook):
    FakeEhr(rsps, "https://ehr.example.org/r4").add(SPEC_PATIENT)

    cards = ok_cards(client.post(f"/cds-services/{REAL_IDS[hook]}",
                                 json=_envelope(name, hook, "https://ehr.example.org/r4")))

    if hook != "patient-view":
        assert cards == [], "an amoxicillin order is not this service's concern"


def test_the_r4_order_examples_keep_their_quirks_a_bundle_without_type_and_an_order_without_intent():
    for name, _ in HOOK_EXAMPLES[:2]:
        bundle = _fixture(name)["context"]["draftOrders"]
        assert "type" not in bundle
        assert "intent" not in bundle["entry"][0]["resource"]


def test_the_spec_extension_example_is_refused_only_for_its_missing_patient_id(toy_client, rsps):
    # The spec's Extensions example abbreviates the context to userId; patient-view REQUIRES patientId.
    body = _fixture("request-extension.json")
    FakeEhr(rsps, body["fhirServer"]).add(SPEC_PATIENT)

    issue = outcome(toy_client.post("/cds-services/hello-patient", json=body), 400)
    assert issue["expression"] == ["context"] and "patientId" in issue["diagnostics"]
    assert "extension" not in issue["diagnostics"]

    body["context"]["patientId"] = "1288992"
    assert ok_cards(toy_client.post("/cds-services/hello-patient", json=body))


@pytest.mark.parametrize("name", ["feedback-accepted.json", "feedback-overridden.json",
                                  "feedback-overridden-with-reason.json"])
def test_each_spec_feedback_example_is_accepted_by_the_toy_and_the_real_app(toy_client, client, name):
    body = _fixture(name)

    assert toy_client.post("/cds-services/hello-patient/feedback", json=body).json == {"received": 1, "stored": 1}
    assert client.post("/cds-services/inotuzumab-order-check/feedback", json=body).json == \
        {"received": 1, "stored": 1}


def test_the_spec_prefetch_token_examples_render_as_the_spec_says():
    context = _fixture("hook-order-sign-r4.json")["context"]
    request = HookRequest("order-sign", "h", context)

    assert render_template("Condition?patient={{context.patientId}}", request) == "Condition?patient=1288992"
    assert render_template("Encounter/{{context.encounterId}}", request) == "Encounter/89284"
    assert render_template("PractitionerRole/{{userPractitionerRoleId}}", request) == "PractitionerRole/123"


def test_the_spec_empty_and_example_responses_are_valid_cds_hooks_answers():
    assert validate_response(_fixture("response-empty.json")) == []
    assert validate_response(_fixture("response-example.json")) == []


def test_the_fixtures_are_still_what_the_spec_text_says():
    liquid = re.compile(r"\{%\s*raw\s*%\}\{\{\{%\s*endraw\s*%\}")
    for name, where in json.loads((SPEC / "sources.json").read_text()).items():
        lines = (REFERENCE / where["source"]).read_text().split("\n")
        start = where["line"]
        assert lines[start - 1].strip() == "```json", name
        end = next(i for i in range(start, len(lines)) if lines[i].strip() == "```")
        text = liquid.sub("{{", "\n".join(lines[start:end])).strip()
        expected = json.loads(text if text.startswith("{") else "{" + text + "}")
        assert _fixture(name) == expected, name
