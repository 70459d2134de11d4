"""Response strictness: cards are built so they cannot break the spec, and ``validate_response`` catches what a
hand-written answer could break (null/empty members, summary length, selectionBehavior, display, link rules)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from cds_hooks import (Action, ActionType, Card, Coding, HookResponse, Indicator, Link, LinkType, SelectionBehavior,
                       Source, Suggestion, validate_response)
from tests.cds_hooks.helpers import INVALID_CARDS, ok_cards, order_request

SPEC = Path(__file__).parents[1] / "fixtures" / "spec"
SOURCE = Source(label="Toy")


def test_optional_fields_without_a_value_are_omitted_not_empty_or_null():
    card = Card(summary="Short", indicator=Indicator.INFO, source=SOURCE).to_json()

    assert set(card) == {"uuid", "summary", "indicator", "source"} and card["source"] == {"label": "Toy"}
    assert HookResponse().to_json() == {"cards": []}
    action = Action(ActionType.DELETE, "Remove the order", resource_id="MedicationRequest/1")
    assert HookResponse(system_actions=(action,)).to_json() == {"cards": [], "systemActions": [
        {"type": "delete", "description": "Remove the order", "resourceId": "MedicationRequest/1"}]}


def test_every_card_and_suggestion_gets_its_own_uuid():
    suggestion = Suggestion(label="Do it")
    cards = [Card(summary="One", indicator=Indicator.INFO, source=SOURCE, suggestions=(suggestion,),
                  selection_behavior=SelectionBehavior.AT_MOST_ONE) for _ in range(2)]

    assert cards[0].uuid != cards[1].uuid and suggestion.to_json()["uuid"]
    assert Suggestion(label="a").uuid != Suggestion(label="a").uuid


@pytest.mark.parametrize("build, message", [
    (lambda: Card(summary="x" * 140, indicator=Indicator.INFO, source=SOURCE), "under 140"),
    (lambda: Card(summary="x", indicator=Indicator.INFO, source=SOURCE, suggestions=(Suggestion("s"),)),
     "selectionBehavior"),
    (lambda: Card(summary="x", indicator=Indicator.INFO, source=SOURCE, override_reasons=(Coding("s", "c"),)),
     "display"),
    (lambda: Link("l", "https://example.org", LinkType.ABSOLUTE, app_context="{}"), "smart"),
    (lambda: Action(ActionType.CREATE, "make"), "resource"),
    (lambda: Action(ActionType.DELETE, "remove"), "resourceId"),
])
def test_models_refuse_to_build_a_card_the_spec_forbids(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def _card(**fields) -> dict:
    return {"summary": "A card", "indicator": "info", "source": {"label": "Toy"}, **fields}


def test_a_card_with_139_characters_is_valid_and_140_is_not():
    assert validate_response({"cards": [_card(summary="x" * 139)]}) == []
    assert validate_response({"cards": [_card(summary="x" * 140)]}) != []


@pytest.mark.parametrize("card", INVALID_CARDS)
def test_validate_response_reports_each_way_a_card_breaks_the_spec(card):
    assert validate_response({"cards": [card]}) != []


def test_validate_response_reports_a_missing_cards_array_and_null_anywhere():
    assert validate_response({}) != []
    assert validate_response({"cards": [], "systemActions": []}) != []
    assert validate_response({"cards": [_card(source={"label": "x", "icon": None})]}) != []


def test_the_spec_example_response_is_valid():
    assert validate_response(json.loads((SPEC / "response-example.json").read_text())) == []
    assert validate_response(json.loads((SPEC / "response-empty.json").read_text())) == []


def test_the_spec_examples_that_break_its_own_rules_are_caught():
    # 2.0.1 errata: the autolaunchable example card has no indicator, the systemActions example no description.
    assert "indicator" in " ".join(validate_response(json.loads((SPEC / "response-autolaunchable.json").read_text())))
    assert "description" in " ".join(validate_response(json.loads((SPEC / "response-system-actions.json")
                                                                   .read_text())))


def test_a_full_toy_answer_over_http_is_strictly_valid_with_uuids_display_and_selection_behavior(toy_client):
    orders = [{"resourceType": "MedicationRequest", "id": f"mr{i}", "status": "draft", "intent": "order"}
              for i in range(2)]

    card = ok_cards(toy_client.post("/cds-services/order-echo", json=order_request("order-sign", orders)))[0]

    assert card["uuid"] and all(s["uuid"] for s in card["suggestions"])
    assert len({card["uuid"], *(s["uuid"] for s in card["suggestions"])}) == 3
    assert card["selectionBehavior"] == "any" and all(r["display"] for r in card["overrideReasons"])
    assert card["links"] == [{"label": "Toy documentation", "url": "https://example.org/toy/docs", "type": "absolute"}]


def test_validate_response_does_not_modify_what_it_checks():
    body = json.loads((SPEC / "response-example.json").read_text())
    before = copy.deepcopy(body)

    validate_response(body)

    assert body == before
