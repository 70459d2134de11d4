"""An audit record per invocation, persisted beside feedback and joinable to it by card uuid; kept only for
the configured retention."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from cds_hooks.storage import audit_card_table, audit_table, feedback_table
from service.app import purge_expired_audit
from tests.builders import NOW, hook_request, medication_request, patient
from tests.security.tokens import ORDER_AUD

ORDER_PATH = "/cds-services/inotuzumab-order-check"


def call_and_give_feedback(app, es384):
    client = app.test_client()
    body = hook_request(orders=[medication_request()], prefetch={"patient": patient()})
    answer = client.post(ORDER_PATH, json=body,
                         headers={"Authorization": f"Bearer {es384.token(NOW, tenant='tenant-a')}"})
    card = answer.json["cards"][0]["uuid"]
    feedback = {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:01:00Z",
                              "overrideReason": {"reason": {"system": "http://example.org/reasons", "code": "x"}}}]}
    token = es384.token(NOW, tenant="tenant-a", aud=f"{ORDER_AUD}/feedback")
    assert client.post(f"{ORDER_PATH}/feedback", json=feedback,
                       headers={"Authorization": f"Bearer {token}"}).status_code == 200
    return body, answer.json, card


def test_each_invocation_is_audited_with_what_was_shown(secure_app, es384):
    app = secure_app()
    body, answer, _ = call_and_give_feedback(app, es384)
    [record] = app.extensions["inotuzumab"]["store"].audit_for(body["hookInstance"])
    assert record["service_id"] == "inotuzumab-order-check" and record["hook"] == "order-sign"
    assert record["card_uuids"] == [c["uuid"] for c in answer["cards"]]
    assert record["knowledge_version"] == app.extensions["inotuzumab"]["knowledge"].version
    assert record["outcome"] and record["duration_ms"] > 0


def test_feedback_joins_to_the_invocation_that_showed_the_card(secure_app, es384):
    app = secure_app()
    body, _, card = call_and_give_feedback(app, es384)
    store = app.extensions["inotuzumab"]["store"]
    [shown] = store.audit_for_card(card)
    assert shown["hook_instance"] == body["hookInstance"]
    query = (select(audit_table.c.hook_instance, feedback_table.c.outcome)
             .select_from(feedback_table.join(audit_card_table, audit_card_table.c.card_uuid == feedback_table.c.card_uuid)
                          .join(audit_table, audit_table.c.id == audit_card_table.c.audit_id)))
    with store.engine.connect() as conn:
        assert conn.execute(query).all() == [(body["hookInstance"], "overridden")]


def age_all_audit_records(store, days: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(audit_table).values(created_at=datetime.now(timezone.utc) - timedelta(days=days)))


def test_audit_records_past_their_retention_are_purged_with_their_card_rows(secure_app, es384):
    app = secure_app()
    body, _, card = call_and_give_feedback(app, es384)
    store = app.extensions["inotuzumab"]["store"]
    assert purge_expired_audit(store, 30) == 0
    age_all_audit_records(store, 31)
    assert purge_expired_audit(store, 30) == 1
    assert store.audit_for(body["hookInstance"]) == [] and store.audit_for_card(card) == []
    with store.engine.connect() as conn:
        assert conn.execute(select(audit_card_table)).all() == []
    assert store.feedback_for_card(card), "feedback itself is not audit: it is kept"


def test_start_up_purges_audit_records_past_the_configured_retention(secure_app, es384, tmp_path):
    app = secure_app(audit_retention_days=30)
    body, _, _ = call_and_give_feedback(app, es384)
    age_all_audit_records(app.extensions["inotuzumab"]["store"], 45)
    restarted = secure_app(audit_retention_days=30)       # same database file, a new start
    assert restarted.extensions["inotuzumab"]["store"].audit_for(body["hookInstance"]) == []


def test_a_retention_of_zero_keeps_audit_records(secure_app, es384):
    app = secure_app(audit_retention_days=0)
    body, _, _ = call_and_give_feedback(app, es384)
    age_all_audit_records(app.extensions["inotuzumab"]["store"], 4000)
    restarted = secure_app(audit_retention_days=0)
    assert restarted.extensions["inotuzumab"]["store"].audit_for(body["hookInstance"])
