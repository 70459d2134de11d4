"""Feedback, audit and the JWT replay cache behave the same on SQLite and PostgreSQL, including when two
replicas race on the same row."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect

from cds_hooks.storage import Store

NOW = datetime.now(timezone.utc)
ITEM = {"card": "3f1c7a52-0000-4000-8000-000000000001", "outcome": "overridden",
        "outcomeTimestamp": "2026-11-25T12:00:00Z"}


def audit(store: Store, hook_instance: str = "h-1", cards: tuple[str, ...] = ("c-1", "c-2"), **extra) -> None:
    store.add_audit(**{"hook_instance": hook_instance, "service_id": "svc", "hook": "order-sign",
                       "outcome": "eligible", "card_uuids": list(cards), "knowledge_version": "k1",
                       "duration_ms": 12.5, "issuer": "https://ehr.example.org", "tenant": "t", **extra})


def race(count: int, work):
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda i: work(i), range(count)))


def test_the_schema_is_created_on_an_empty_database(store):
    assert {"cds_feedback", "cds_audit", "cds_audit_card", "cds_jwt_replay"} <= set(inspect(store.engine).get_table_names())
    assert store.ping()


def test_feedback_is_stored_once_across_retries(store):
    assert store.add_feedback("svc", [ITEM]) == 1
    assert store.add_feedback("svc", [ITEM, dict(ITEM)]) == 0
    assert store.feedback_for_card(ITEM["card"]) == [ITEM]


def test_two_replicas_storing_the_same_feedback_at_once_keep_one_row(replicas):
    stored = race(8, lambda i: replicas[i % 2].add_feedback("svc", [ITEM]))
    assert sum(stored) == 1
    assert len(replicas[0].feedback_for_card(ITEM["card"])) == 1


def test_a_jti_is_accepted_once_and_refused_while_it_lives(store):
    expires = NOW + timedelta(minutes=5)
    assert store.remember_jti("iss", "jti-1", expires, now=NOW) is True
    assert store.remember_jti("iss", "jti-1", expires, now=NOW + timedelta(minutes=4)) is False
    assert store.remember_jti("other-iss", "jti-1", expires, now=NOW) is True


def test_an_expired_jti_is_forgotten(store):
    assert store.remember_jti("iss", "jti-2", NOW + timedelta(minutes=5), now=NOW)
    later = NOW + timedelta(minutes=6)
    assert store.remember_jti("iss", "jti-2", later + timedelta(minutes=5), now=later) is True


def test_a_token_replayed_at_two_replicas_at_once_is_accepted_exactly_once(replicas):
    expires = NOW + timedelta(minutes=5)
    accepted = race(10, lambda i: replicas[i % 2].remember_jti("iss", "raced-jti", expires, now=NOW))
    assert accepted.count(True) == 1


def test_the_replay_cache_keeps_no_jti_in_clear(store):
    store.remember_jti("https://ehr.example.org", "jti-secret-value", NOW + timedelta(minutes=5), now=NOW)
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT key FROM cds_jwt_replay").all()
    assert rows and all("jti-secret-value" not in r[0] for r in rows)


def test_an_audit_record_round_trips_with_its_card_uuids(store):
    audit(store)
    [record] = store.audit_for("h-1")
    assert (record["service_id"], record["outcome"], record["card_uuids"], record["tenant"]) == (
        "svc", "eligible", ["c-1", "c-2"], "t")
    assert record["created_at"] is not None and record["duration_ms"] == 12.5


def test_feedback_joins_to_the_audit_record_of_the_card(store):
    audit(store, "h-1", ("c-1", "c-2"))
    audit(store, "h-2", ("c-3",))
    store.add_feedback("svc", [{**ITEM, "card": "c-2"}])
    assert [r["hook_instance"] for r in store.audit_for_card("c-2")] == ["h-1"]
    assert [r["hook_instance"] for r in store.audit_for_card("c-3")] == ["h-2"]
    with store.engine.connect() as conn:
        joined = conn.exec_driver_sql(
            "SELECT a.hook_instance, f.outcome FROM cds_feedback f JOIN cds_audit_card c ON c.card_uuid = f.card_uuid "
            "JOIN cds_audit a ON a.id = c.audit_id").all()
    assert [tuple(r) for r in joined] == [("h-1", "overridden")]


def test_overlong_values_are_clipped_rather_than_failing_the_call(store):
    audit(store, "h-long", tenant="t" * 500, outcome="x" * 500, issuer="i" * 900)
    [record] = store.audit_for("h-long")
    assert (len(record["tenant"]), len(record["outcome"]), len(record["issuer"])) == (200, 200, 500)


def test_the_purge_removes_only_records_past_retention_with_their_card_rows(store):
    audit(store, "old")
    assert store.purge_audit(timedelta(days=30)) == 0
    assert store.purge_audit(timedelta(days=30), now=datetime.now(timezone.utc) + timedelta(days=31)) == 1
    assert store.audit_for("old") == [] and store.audit_for_card("c-1") == []
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM cds_audit_card").scalar() == 0


def test_times_come_back_as_the_same_instant(store):
    audit(store, "t-1")
    created = store.audit_for("t-1")[0]["created_at"]
    created = created if created.tzinfo else created.replace(tzinfo=timezone.utc)
    assert abs(created - datetime.now(timezone.utc)) < timedelta(minutes=1)
