"""Feedback: validated (cds-fb-1..3, RFC 3339 UTC), stored once per item even across restarts, answered 200."""

from __future__ import annotations

import pytest

from tests.cds_hooks.helpers import outcome

CARD = "4e0a3a1e-3283-4575-ab82-028d55fe2719"
SUGGESTION = "e56e1945-20b3-4393-8503-a1a20fd73152"
ACCEPTED = {"card": CARD, "outcome": "accepted", "acceptedSuggestions": [{"id": SUGGESTION}],
            "outcomeTimestamp": "2021-12-11T10:05:31Z"}
OVERRIDDEN = {"card": CARD, "outcome": "overridden", "outcomeTimestamp": "2021-12-11T10:06:00.52Z",
              "overrideReason": {"reason": {"code": "not-now", "system": "https://example.org/toy/override"},
                                 "userComment": "Discussed with the patient."}}


def _post(client, *items, service="hello-patient"):
    return client.post(f"/cds-services/{service}/feedback", json={"feedback": list(items)})


def test_a_batch_of_valid_feedback_is_answered_200_and_stored(toy):
    response = _post(toy.app.test_client(), ACCEPTED, OVERRIDDEN)

    assert response.status_code == 200 and response.json == {"received": 2, "stored": 2}
    assert [item["outcome"] for item in toy.store.feedback_for_card(CARD)] == ["accepted", "overridden"]


def test_the_same_item_twice_is_stored_once_within_a_batch_and_across_batches(toy):
    client = toy.app.test_client()

    first = _post(client, ACCEPTED, dict(ACCEPTED))
    second = _post(client, {**ACCEPTED, "extension": {"com.example.retry": 2}})

    assert first.json == {"received": 2, "stored": 1} and second.json == {"received": 1, "stored": 0}
    assert len(toy.store.feedback_for_card(CARD)) == 1


def test_feedback_is_idempotent_across_a_restart_on_the_same_sqlite_file(make_toy_app):
    assert _post(make_toy_app().app.test_client(), ACCEPTED).json["stored"] == 1

    restarted = make_toy_app()

    assert _post(restarted.app.test_client(), ACCEPTED).json == {"received": 1, "stored": 0}
    assert len(restarted.store.feedback_for_card(CARD)) == 1


def test_the_same_item_for_two_services_is_two_records(toy):
    client = toy.app.test_client()

    assert _post(client, ACCEPTED).json["stored"] == 1
    assert _post(client, ACCEPTED, service="order-echo").json["stored"] == 1


def test_an_override_reason_without_a_display_is_accepted_as_the_sandbox_sends_it(toy):
    item = {**OVERRIDDEN, "overrideReason": {"reason": {"code": "x", "system": "https://example.org/r"}}}

    assert _post(toy.app.test_client(), item).status_code == 200


@pytest.mark.parametrize("timestamp", ["2021-12-11T10:05:31Z", "2021-12-11T10:05:31.123456789Z",
                                       "2021-12-11T10:05:31+00:00", "2021-12-11t10:05:31z"])
def test_rfc_3339_utc_timestamps_are_accepted(toy, timestamp):
    assert _post(toy.app.test_client(), {**ACCEPTED, "outcomeTimestamp": timestamp}).status_code == 200


@pytest.mark.parametrize("item, field", [
    ({**ACCEPTED, "outcome": "ignored"}, "outcome"),
    ({k: v for k, v in ACCEPTED.items() if k != "acceptedSuggestions"}, "acceptedSuggestions"),
    ({**ACCEPTED, "acceptedSuggestions": []}, "acceptedSuggestions"),
    ({**ACCEPTED, "acceptedSuggestions": [{}]}, "acceptedSuggestions"),
    ({**ACCEPTED, "outcomeTimestamp": "2021-12-11T10:05:31"}, "outcomeTimestamp"),
    ({**ACCEPTED, "outcomeTimestamp": "2021-12-11T10:05:31+02:00"}, "outcomeTimestamp"),
    ({**ACCEPTED, "outcomeTimestamp": "2021-12-11"}, "outcomeTimestamp"),
    ({**ACCEPTED, "outcomeTimestamp": "2021-02-30T10:05:31Z"}, "outcomeTimestamp"),
    ({**ACCEPTED, "outcomeTimestamp": "yesterday"}, "outcomeTimestamp"),
    ({**OVERRIDDEN, "overrideReason": {}}, "overrideReason"),
    ({**OVERRIDDEN, "overrideReason": {"reason": {"code": "x"}}}, "overrideReason"),
    ({k: v for k, v in ACCEPTED.items() if k != "card"}, "card"),
    ({**ACCEPTED, "card": 12}, "card"),
    ({**ACCEPTED, "card": "c" * 201}, "card"),
])
def test_invalid_feedback_is_a_400_naming_the_field_and_nothing_is_stored(toy, item, field):
    issue = outcome(_post(toy.app.test_client(), ACCEPTED, item), 400)

    assert field in issue["diagnostics"]
    assert toy.store.feedback_for_card(CARD) == [], "a batch is all or nothing"


@pytest.mark.parametrize("body", [{}, {"feedback": []}, {"feedback": "x"}, {"feedback": [1]}, []])
def test_a_feedback_body_without_items_is_a_400(toy, body):
    outcome(toy.app.test_client().post("/cds-services/hello-patient/feedback", json=body), 400)


def test_real_app_feedback_is_idempotent_across_a_restart(make_app):
    first = make_app().test_client().post("/cds-services/inotuzumab-order-check/feedback",
                                          json={"feedback": [ACCEPTED, OVERRIDDEN]})
    second = make_app().test_client().post("/cds-services/inotuzumab-order-check/feedback",
                                           json={"feedback": [OVERRIDDEN]})

    assert first.status_code == 200 and first.json == {"received": 2, "stored": 2}
    assert second.status_code == 200 and second.json == {"received": 1, "stored": 0}


def test_a_clinicians_free_text_comment_is_never_stored(toy):
    """Should keep that a comment was given, not its words (free text may name the patient)."""
    body = {"feedback": [{"card": "card-with-comment", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:00:00Z",
                          "overrideReason": {"userComment": "Spoke with Jane Doe, MRN 12345"}}]}
    assert toy.app.test_client().post("/cds-services/hello-patient/feedback", json=body).status_code == 200
    [stored] = toy.store.feedback_for_card("card-with-comment")
    assert stored["overrideReason"] == {"userCommentGiven": True}
    assert "Jane" not in str(stored)
