"""The safety card: one card per order grouping the findings, its indicator, suggestions, and the patient-view cut."""

from __future__ import annotations


import jsonschema
import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_hooks import validate_response
from service.assessment import CRITERIA, Assessment, Criterion, Eligibility, SafetyFinding, Severity, Status
from service.cards.safety import safety_card
from service.rules.safety import CHECKS
from tests.builders import ICD10, bundle, condition, hook_request, medication_request, patient
from tests.service.test_safety_support import (ALT, AST, BILIRUBIN, BLASTS, PLATELETS, QTC, SNOMED_NEGATIVE,
                                               SNOMED_POSITIVE, ANC, assess, coded_test, knowledge, lab,
                                               site_knowledge)

__all__ = ["knowledge"]  # the session fixture, imported for pytest

from tests.contract import SCHEMA  # noqa: E402
ORDER_SERVICE, SCREENING_SERVICE = "/cds-services/inotuzumab-order-check", "/cds-services/inotuzumab-patient-screening"


def _assessment(knowledge, findings: dict) -> Assessment:
    """An assessment carrying these findings; eligibility is a neutral stand-in (not what is tested here)."""
    eligibility = Eligibility({name: Criterion(Status.UNKNOWN, "not assessed in this test") for name in CRITERIA})
    return Assessment(knowledge.version, eligibility, safety=list(findings.values()))


def _all_ok(**extra):
    """A man with recent normal liver tests, counts, blasts and QTc before cycle 1: every check ok."""
    return (patient("1980-02-02", gender="male"), lab(BILIRUBIN, 0.6, "mg/dL", high=1.2),
            lab(AST, 25, "U/L", high=40), lab(ALT, 20, "U/L", high=40), lab(ANC, 2.1, "10*9/L"),
            lab(PLATELETS, 180, "10*3/uL"), lab(BLASTS, 2, "10*9/L"), lab(QTC, 420, "ms"))


def _several_problems():
    """A woman of 36 with a resolved VOD, bilirubin at 2 x ULN, a positive pregnancy test and no QTc."""
    return (patient("1990-05-01"), condition("K76.5", system=ICD10, clinical="resolved", cond_id="vod-1"),
            lab(BILIRUBIN, 2.4, "mg/dL", high=1.2, obs_id="bili-1"), lab(AST, 25, "U/L", high=40),
            lab(ALT, 20, "U/L", high=40), lab(ANC, 2.1, "10*9/L"), lab(PLATELETS, 180, "10*3/uL"),
            lab(BLASTS, 2, "10*9/L"), coded_test(SNOMED_POSITIVE, obs_id="hcg-1"))


def _safety_cards(response_json) -> list[dict]:
    return [c for c in response_json["cards"] if c["summary"].startswith("Inotuzumab safety")]


def _prefetch(*resources):
    by_type = {"Patient": "patient", "Condition": "diagnoses", "Observation": "labs",
               "MedicationRequest": "inotuzumabHistory"}
    prefetch = {"patient": None, "diagnoses": bundle(), "labs": bundle(), "inotuzumabHistory": bundle(),
                "activeMedications": bundle(), "inotuzumabAdministrations": bundle(), "bodyMeasurements": bundle(),
                "leukemiaMarkers": bundle()}
    for resource in resources:
        key = by_type[resource["resourceType"]]
        if key == "patient":
            prefetch[key] = resource
        else:
            prefetch[key]["entry"].append({"resource": resource})
    return prefetch


# --------------------------------------------------------------------------- rendering

def test_several_findings_give_one_card_led_by_the_most_severe(knowledge):
    assessment = _assessment(knowledge, assess(knowledge, *_several_problems()))
    card = safety_card(assessment, knowledge)
    body = card.to_json()
    assert body["indicator"] == "critical"
    assert len(body["summary"]) < 140
    assert body["summary"].startswith("Inotuzumab safety: VOD/SOS history (discontinue), positive pregnancy test")
    detail = body["detail"]
    assert detail.index("**VOD/SOS history**") < detail.index("**Pregnancy**") < detail.index("**Liver tests**")
    assert "`Condition/vod-1`" in detail and "`Observation/bili-1`" in detail
    assert "**Not assessable:**" in detail and "- QT interval: No QTc within 30 days" in detail
    assert body["overrideReasons"] and all(r["display"] for r in body["overrideReasons"])
    assert validate_response({"cards": [body]}) == []


def test_suggestions_create_valid_draft_service_requests_for_the_patient(knowledge):
    findings = assess(knowledge, patient("1990-05-01"), lab(BILIRUBIN, 0.5, "mg/dL", high=1.2))
    card = safety_card(_assessment(knowledge, findings), knowledge).to_json()
    assert card["selectionBehavior"] == "any"
    codes = {}
    for suggestion in card["suggestions"]:
        for action in suggestion["actions"]:
            assert action["type"] == "create"
            request = ServiceRequest.model_validate(action["resource"])
            assert (request.status, request.intent, request.subject.reference) == ("draft", "order", "Patient/pat-1")
            codes[request.code.coding[0].code] = suggestion["label"]
    assert set(codes) == {"1920-8", "1742-6", "751-8", "777-3", "2110-5", "34534-8"}
    assert codes["34534-8"] == "Order a 12-lead ECG"


def test_every_check_ok_gives_no_card(knowledge):
    findings = assess(knowledge, *_all_ok())
    assert {f.status for f in findings.values()} == {"ok"}, {k: f.detail for k, f in findings.items()
                                                             if f.status != "ok"}
    assert safety_card(_assessment(knowledge, findings), knowledge) is None


def test_unknowns_alone_are_listed_briefly_on_an_info_card_unless_the_site_turns_it_off(knowledge, tmp_path):
    resources = [r for r in _all_ok() if r.get("code", {}).get("coding", [{}])[0].get("code") != QTC]
    findings = assess(knowledge, *resources)
    card = safety_card(_assessment(knowledge, findings), knowledge).to_json()
    assert card["indicator"] == "info" and "overrideReasons" not in card
    assert card["summary"] == "Inotuzumab safety: data needed before this dose (qt interval)"
    assert card["detail"].count("\n- ") == 1, "one brief line per unknown check"
    assert "Obtain electrocardiograms" not in card["detail"], "unknowns are listed briefly, not in full"
    quiet = site_knowledge(tmp_path, policy={"safety-card-for-unknowns": {"value": False}})
    assert safety_card(_assessment(quiet, assess(quiet, *resources)), quiet) is None


def test_only_restricts_the_card_to_the_given_findings(knowledge):
    findings = assess(knowledge, *_several_problems())
    critical = [f for f in findings.values() if f.severity is Severity.CRITICAL]
    card = safety_card(_assessment(knowledge, findings), knowledge, only=critical).to_json()
    assert "Liver tests" not in card["detail"] and "Not assessable" not in card["detail"]
    assert "suggestions" not in card


def test_the_summary_stays_short_when_every_check_is_flagged(knowledge):
    flagged = {check: SafetyFinding(check, "flagged", Severity.WARNING, "x") for check in CHECKS}
    card = safety_card(_assessment(knowledge, flagged), knowledge)
    assert len(card.summary) < 140 and card.indicator.value == "warning"


def test_the_assessment_with_findings_is_valid_against_the_contract(knowledge):
    assessment = _assessment(knowledge, assess(knowledge, *_several_problems()))
    body = assessment.to_json()
    jsonschema.Draft202012Validator(SCHEMA).validate(body)
    assert [f["id"] for f in body["safety"]] == list(CHECKS)


# --------------------------------------------------------------------------- through HTTP

def test_order_sign_shows_one_grouped_safety_card_per_order(client):
    body = hook_request(orders=[medication_request(mr_id="ino-1")], prefetch=_prefetch(*_several_problems()))
    response = client.post(ORDER_SERVICE, json=body)
    assert response.status_code == 200
    cards = _safety_cards(response.json)
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] == "critical"
    assert validate_response({"cards": [card]}) == []
    assessment = card["extension"]["inotuzumab-cds.assessment"]
    jsonschema.Draft202012Validator(SCHEMA).validate(assessment)
    statuses = {f["id"]: (f["status"], f.get("severity")) for f in assessment["safety"]}
    assert statuses["vod-history"] == ("flagged", "critical")
    assert statuses["pregnancy"] == ("flagged", "critical")
    assert statuses["hepatic-function"] == ("flagged", "warning")
    assert statuses["qt"] == ("unknown", None)
    assert assessment["order"] == "MedicationRequest/ino-1"
    for suggestion in card.get("suggestions", ()):
        for action in suggestion["actions"]:
            ServiceRequest.model_validate(action["resource"])


def test_order_sign_with_every_check_ok_shows_no_safety_card(client):
    body = hook_request(orders=[medication_request()], prefetch=_prefetch(*_all_ok()))
    response = client.post(ORDER_SERVICE, json=body)
    assert response.status_code == 200 and _safety_cards(response.json) == []


@pytest.mark.parametrize("with_vod", [True, False])
def test_patient_view_shows_only_critical_safety_findings(client, with_vod):
    resources = [patient("1990-05-01"), condition("C91.02", system=ICD10),
                 lab(BILIRUBIN, 2.4, "mg/dL", high=1.2), coded_test(SNOMED_NEGATIVE)]
    if with_vod:
        resources.append(condition("K76.5", system=ICD10, clinical="resolved", cond_id="vod-2"))
    body = hook_request("patient-view", prefetch=_prefetch(*resources))
    response = client.post(SCREENING_SERVICE, json=body)
    assert response.status_code == 200
    cards = _safety_cards(response.json)
    if not with_vod:
        assert cards == [], "a liver warning and missing labs are not shown on patient-view"
        return
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] == "critical" and "VOD/SOS" in card["summary"]
    assert "Liver tests" not in card["detail"] and "suggestions" not in card
    assert validate_response({"cards": [card]}) == []


def test_patient_view_shows_no_safety_card_for_a_patient_without_all(client):
    resources = [patient("1990-05-01"), coded_test(SNOMED_POSITIVE),
                 condition("K76.5", system=ICD10, clinical="resolved")]
    response = client.post(SCREENING_SERVICE, json=hook_request("patient-view", prefetch=_prefetch(*resources)))
    assert response.status_code == 200 and _safety_cards(response.json) == []


def test_unreadable_records_and_retrieval_failures_are_named_on_the_card(knowledge):
    assessment = _assessment(knowledge, assess(knowledge, *_several_problems()))
    assessment.unreadable = ["Observation/broken-1: invalid valueQuantity.value (decimal_parsing)"]
    assessment.notes = ["Could not retrieve labs from the EHR (timeout): what depends on it is unknown."]
    detail = safety_card(assessment, knowledge).detail
    assert "Observation/broken-1" in detail and "Could not retrieve labs" in detail
    assert "\n\n\n" not in detail
