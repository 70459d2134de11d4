"""`evaluate FILE`: a hook request or a patient Bundle through the service in-process, cards readable in a
terminal or as JSON."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from service.assessment import EXTENSION_KEY
from service.cli import main
from service.sandbox import load_manifest
from service.sandbox.evaluate import EvaluateError, evaluate, render_text
from tests.builders import NOW, hook_request, medication_request, patient


@pytest.fixture
def manifest():
    return load_manifest()


def _bundle(manifest, patient_id):
    return manifest.patient(patient_id).bundle_path


def _verdicts(result) -> list[str]:
    return [c["extension"][EXTENSION_KEY]["verdict"] for c in result["body"]["cards"] if "extension" in c]


def test_a_patient_bundle_alone_is_evaluated_as_patient_view(make_app, manifest):
    result = evaluate(_bundle(manifest, "inoz-eligible-child"), manifest=manifest, app=make_app(), today=NOW.date())
    assert (result["hook"], result["status"]) == ("patient-view", 200)
    assert _verdicts(result) == ["eligible"]


def test_an_order_hook_on_a_sandbox_patient_uses_the_patients_draft_orders(make_app, manifest):
    result = evaluate(_bundle(manifest, "inoz-infant-10-months"), hook="order-sign", manifest=manifest,
                      app=make_app(), today=NOW.date())
    assessment = result["body"]["cards"][0]["extension"][EXTENSION_KEY]
    assert assessment["order"] == "MedicationRequest/inoz-infant-10-months-draft-inotuzumab"
    assert assessment["criteria"]["age"]["status"] == "not-met"


def test_explicit_draft_orders_make_it_an_order_sign_call(make_app, manifest, tmp_path):
    orders = tmp_path / "orders.json"
    orders.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": medication_request(patient_id="inoz-eligible-adult", mr_id="mine", dose=1.4)}]}))
    result = evaluate(_bundle(manifest, "inoz-eligible-adult"), orders_path=orders, app=make_app(),
                      today=NOW.date())
    assert result["hook"] == "order-sign"
    assert result["body"]["cards"][0]["extension"][EXTENSION_KEY]["order"] == "MedicationRequest/mine"


def test_a_hook_request_file_is_sent_as_it_is(make_app, tmp_path):
    request = tmp_path / "request.json"
    request.write_text(json.dumps(hook_request("order-select", orders=[medication_request()],
                                               prefetch={"patient": patient()})))
    result = evaluate(request, app=make_app())
    assert (result["hook"], result["service"], result["status"]) == ("order-select", "inotuzumab-order-check", 200)
    assert result["body"]["cards"]


@pytest.mark.parametrize("content, message", [
    ({"resourceType": "Patient", "id": "x"}, "CDS Hooks request"),
    ({"resourceType": "Bundle", "entry": [{"resource": patient(patient_id="a")},
                                          {"resource": patient(patient_id="b")}]}, "2 Patient resources"),
])
def test_a_file_that_is_not_one_patients_record_or_a_request_is_refused(make_app, tmp_path, content, message):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(content))
    with pytest.raises(EvaluateError, match=message):
        evaluate(path, app=make_app())


def test_an_order_hook_on_a_foreign_bundle_asks_for_draft_orders(make_app, tmp_path):
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": patient(patient_id="someone")}]}))
    with pytest.raises(EvaluateError, match="--orders"):
        evaluate(path, hook="order-sign", app=make_app())


def test_cards_read_in_a_terminal_show_indicator_summary_detail_and_actions():
    text = render_text({"hook": "order-sign", "service": "svc", "status": 200, "body": {"cards": [{
        "summary": "Hold the dose", "indicator": "critical", "detail": "**Why**\nBilirubin 2 x ULN.",
        "source": {"label": "Label", "url": "https://label.example"},
        "suggestions": [{"label": "Order bilirubin", "actions": [{"type": "create", "description": "d",
                                                                   "resource": {"resourceType": "ServiceRequest"}}]}],
        "overrideReasons": [{"code": "x", "display": "Benefit outweighs risk"}],
        "links": [{"label": "PI", "url": "https://pi.example"}]}]}})
    assert text.splitlines()[0] == "order-sign -> svc: 1 card"
    for piece in ("[CRITICAL] Hold the dose", "source: Label <https://label.example>", "  Bilirubin 2 x ULN.",
                  "suggestion: Order bilirubin (create ServiceRequest)", "link: PI <https://pi.example>",
                  "override reasons: Benefit outweighs risk"):
        assert piece in text


def test_an_error_answer_is_shown_with_its_status_and_diagnostics():
    text = render_text({"hook": "order-sign", "service": "svc", "status": 412,
                        "body": {"issue": [{"diagnostics": "prefetch key 'patient' (absent)"}]}})
    assert text == "order-sign -> svc: HTTP 412 prefetch key 'patient' (absent)"


def test_the_cli_prints_cards_as_text_or_as_json(manifest):
    path = str(_bundle(manifest, "inoz-vod-history"))
    text = CliRunner().invoke(main, ["evaluate", path, "--hook", "order-sign"])
    assert text.exit_code == 0, text.output
    assert "[CRITICAL]" in text.output
    raw = CliRunner().invoke(main, ["evaluate", path, "--json"])
    assert raw.exit_code == 0
    assert json.loads(raw.output)["cards"]


def test_the_cli_exits_2_on_a_file_it_cannot_evaluate(tmp_path):
    path = tmp_path / "in.json"
    path.write_text("[1, 2]")
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2
    assert "cannot evaluate" in result.output
