"""One hook response held to the manifest: each kind of expectation passes when met and names the difference when
not; and the shipped manifest itself only states values the contract allows."""

from __future__ import annotations

import pytest
import yaml

from service.assessment import EXTENSION_KEY
from service.sandbox import ManifestError, load_manifest
from service.sandbox.data import SandboxPatient
from service.sandbox.expect import check, comparable, describe, top_indicator

ORDER = "MedicationRequest/inoz-x-draft-inotuzumab"


def _assessment(**overrides) -> dict:
    base = {"verdict": "eligible", "order": ORDER, "knowledgeVersion": "v",
            "criteria": {name: {"status": "met", "detail": f"{name} ok"}
                         for name in ("age", "diagnosis", "cd22", "relapsedRefractory")},
            "dosing": {"regimen": "cycle-1", "orderCheck": {"status": "matches-label"}},
            "premedication": {"status": "partial", "missing": ["antihistamine", "corticosteroid"]},
            "safety": [{"id": "hepatic-function", "status": "ok"},
                       {"id": "vod-history", "status": "flagged", "severity": "critical", "detail": "VOD 2025"}]}
    return {**base, **overrides}


def _response(*indicators: str, assessment: dict | None = None, detail: str = "") -> dict:
    cards = [{"summary": f"card {i}", "indicator": ind, "detail": detail, "source": {"label": "x"},
              "extension": {EXTENSION_KEY: assessment or _assessment()}} for i, ind in enumerate(indicators)]
    return {"cards": cards}


def test_a_response_that_matches_every_kind_of_expectation_has_no_mismatch():
    expected = {"cards": 2, "indicator": "critical", "verdict": "eligible",
                "criteria": {"age": "met", "cd22": "met"},
                "dosing": {"regimen": "cycle-1", "orderCheck": "matches-label"},
                "premedication": {"status": "partial", "missing": ["corticosteroid", "antihistamine"]},
                "safety": {"hepatic-function": "ok", "vod-history": "flagged/critical"},
                "mentions": ["Name Only"]}
    assert check(expected, _response("info", "critical", detail="recognised by name only"), ORDER) == []


@pytest.mark.parametrize("expected, mismatch", [
    ({"cards": 1}, "cards: expected 1, got 2"),
    ({"indicator": "warning"}, "indicator: expected warning, got critical"),
    ({"verdict": "not-eligible"}, "verdict: expected not-eligible, got eligible"),
    ({"criteria": {"cd22": "unknown"}}, "criteria.cd22: expected unknown, got met (cd22 ok)"),
    ({"dosing": {"regimen": "subsequent-cr-cri"}}, "dosing.regimen: expected subsequent-cr-cri, got cycle-1"),
    ({"dosing": {"orderCheck": "above-label"}}, "dosing.orderCheck: expected above-label, got matches-label"),
    ({"premedication": "ordered"}, "premedication: expected ordered, got partial"),
    ({"safety": {"vod-history": "flagged/warning"}}, "safety.vod-history: expected flagged/warning, got "
                                                     "flagged/critical (VOD 2025)"),
    ({"safety": {"qt": "ok"}}, "safety.qt: expected ok, got no finding"),
    ({"mentions": ["pregnancy"]}, "mentions: no card says 'pregnancy'"),
])
def test_each_difference_is_named(expected, mismatch):
    assert mismatch in check({"safety": {"vod-history": "flagged/critical"}, **expected},
                             _response("info", "critical"), ORDER)


def test_a_flagged_safety_check_the_manifest_does_not_list_is_a_mismatch():
    problems = check({"verdict": "eligible"}, _response("critical"), ORDER)
    assert problems == ["safety.vod-history: flagged (critical) but the manifest expects no alarm (VOD 2025)"]


def test_the_assessment_is_read_for_the_order_under_test_only():
    other = _assessment(order="MedicationRequest/someone-else", verdict="not-eligible")
    assert check({"verdict": "eligible"}, _response("info", assessment=other), ORDER) == [
        f"no card carries the assessment for {ORDER}"]


def test_no_cards_at_all_is_what_a_silent_service_answers():
    assert check({"cards": 0}, {"cards": []}, None) == []
    assert top_indicator([]) == "none"
    assert describe({"cards": []}, None) == "0 cards"


def test_two_answers_compare_on_indicators_summaries_and_assessments_not_on_card_uuids():
    first, second = _response("info"), _response("info")
    first["cards"][0]["uuid"], second["cards"][0]["uuid"] = "a", "b"
    assert comparable(first) == comparable(second)
    second["cards"][0]["extension"][EXTENSION_KEY] = _assessment(verdict="insufficient-data")
    assert comparable(first) != comparable(second)


def test_order_hooks_share_the_orders_expectations_and_may_override_them():
    patient = SandboxPatient("p", None, None, "", {"orders": {"verdict": "eligible", "cards": 1},
                                                   "order-select": {"cards": 2}})
    assert patient.expectations("order-sign") == {"verdict": "eligible", "cards": 1}
    assert patient.expectations("order-select") == {"verdict": "eligible", "cards": 2}
    assert patient.expectations("patient-view") == {}


@pytest.mark.parametrize("expected", [{"verdict": "maybe"}, {"criteria": {"cd23": "met"}},
                                      {"safety": {"qt": "alarming"}}, {"colour": "red"}])
def test_a_manifest_expectation_outside_the_contract_is_refused(tmp_path, expected):
    (tmp_path / "p.json").write_text("{}")
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump({
        "services": {"patient-view": "s"}, "patients": [{"id": "p", "bundle": "p.json",
                                                         "expect": {"patient-view": expected}}]}))
    with pytest.raises(ManifestError, match=r"patients\[0\] \(p\) expect.patient-view"):
        load_manifest(tmp_path)


def test_a_manifest_naming_a_missing_file_is_refused(tmp_path):
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump({
        "services": {"patient-view": "s"}, "patients": [{"id": "p", "bundle": "nowhere.json"}]}))
    with pytest.raises(ManifestError, match="nowhere.json"):
        load_manifest(tmp_path)


def test_the_shipped_manifest_loads_and_covers_every_verdict_and_flagged_check():
    manifest = load_manifest()
    verdicts = {p.expectations("order-sign").get("verdict") for p in manifest.patients}
    assert {"eligible", "not-eligible", "insufficient-data"} <= verdicts
    flagged = {check_id for p in manifest.patients for check_id, v in
               (p.expectations("order-sign").get("safety") or {}).items() if v.startswith("flagged")}
    assert {"hepatic-function", "vod-history", "prior-hsct", "pregnancy", "treatment-course"} <= flagged
    checks = {p.expectations("order-sign").get("dosing", {}).get("orderCheck") for p in manifest.patients}
    assert {"matches-label", "above-label", "below-label", "not-assessable"} <= checks
    regimens = {p.expectations("order-sign").get("dosing", {}).get("regimen") for p in manifest.patients}
    assert {"cycle-1", "subsequent-cr-cri", "subsequent-no-cr-cri"} <= regimens
