"""Persistence through SQLAlchemy Core: feedback, the audit trail, and the JWT replay cache.

SQLite file by default, any SQLAlchemy URL (PostgreSQL in production) otherwise. Several replicas can share
one database: every write is idempotent or guarded by a unique key, so races end in one row, not an error.
Nothing stored here carries a patient identifier, a name, or a token.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import (Column, event, DateTime, Float, Integer, MetaData, String, Table, Text, create_engine, delete,
                        insert, select, text)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

metadata = MetaData()

feedback_table = Table(
    "cds_feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_key", String(64), nullable=False, unique=True),  # sha256 of service id + canonical item
    Column("service_id", String(200), nullable=False),
    Column("card_uuid", String(200), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("outcome_timestamp", String(40), nullable=False),
    Column("item_json", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

audit_table = Table(
    "cds_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hook_instance", String(200), nullable=False, index=True),
    Column("service_id", String(200), nullable=False),
    Column("hook", String(100), nullable=False),
    Column("issuer", String(500)),
    Column("tenant", String(200)),
    Column("outcome", String(200), nullable=False),    # e.g. the verdict(s), "no-cards", or an error status
    Column("card_uuids", Text, nullable=False),        # JSON list
    Column("knowledge_version", String(50)),
    Column("duration_ms", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

# One row per card shown: feedback joins here on card_uuid (SQL join, no JSON functions needed).
audit_card_table = Table(
    "cds_audit_card", metadata,
    Column("audit_id", Integer, nullable=False, index=True),
    Column("card_uuid", String(200), nullable=False, index=True),
)

jti_table = Table(
    "cds_jwt_replay", metadata,
    Column("key", String(64), primary_key=True),        # sha256(iss + jti): the jti itself is not kept
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _clip(value: str | None, column: Column) -> str | None:
    length = getattr(column.type, "length", None)
    return value[:length] if isinstance(value, str) and length else value


def _sqlite_wal(connection, _record) -> None:
    """Write-ahead logging: readers never block the writer, so several workers share one file; with
    synchronous=NORMAL a commit no longer waits for a disk flush (a crash can lose the last commits, never
    corrupt the file: acceptable for an audit trail whose production home is PostgreSQL)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _without_free_text(item: dict) -> dict:
    reason = item.get("overrideReason")
    if not isinstance(reason, dict) or "userComment" not in reason:
        return item
    kept = {k: v for k, v in reason.items() if k != "userComment"}
    return {**item, "overrideReason": {**kept, "userCommentGiven": True}}


def _create_schema(engine: Engine, attempts: int = 5) -> None:
    """Create the tables if missing. Several workers or replicas starting together on a fresh database race to
    create them; the loser's CREATE fails ("already exists") and simply tries again, finding them there."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


class Store:
    def __init__(self, url: str, *, create: bool = True):
        kwargs: dict = {"pool_pre_ping": True, "future": True} if not url.startswith("sqlite") else {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite") and ":memory:" not in url:
            event.listen(self.engine, "connect", _sqlite_wal)
        if create:
            _create_schema(self.engine)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - readiness reports any database failure as "not ready"
            return False

    # ------------------------------------------------------------------ feedback

    def add_feedback(self, service_id: str, items: Iterable[dict]) -> int:
        """Store each item once (idempotent across retries and restarts). :return: rows newly stored.

        ``overrideReason.userComment`` is free text a clinician typed and may name the patient: only the fact
        that a comment was given is kept, never its words.
        """
        stored = 0
        for item in map(_without_free_text, items):
            canonical = json.dumps(item, sort_keys=True, separators=(",", ":"))
            key = hashlib.sha256(f"{service_id}\n{canonical}".encode()).hexdigest()
            row = {"item_key": key, "service_id": service_id, "card_uuid": item["card"],
                   "outcome": item["outcome"], "outcome_timestamp": item["outcomeTimestamp"],
                   "item_json": canonical, "received_at": _now()}
            try:
                with self.engine.begin() as conn:
                    if conn.execute(select(feedback_table.c.id).where(feedback_table.c.item_key == key)).first():
                        continue
                    conn.execute(insert(feedback_table).values(**row))
                    stored += 1
            except IntegrityError:
                continue  # another replica stored the same item first
        return stored

    def feedback_for_card(self, card_uuid: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(feedback_table.c.item_json)
                                .where(feedback_table.c.card_uuid == card_uuid)
                                .order_by(feedback_table.c.id)).all()
        return [json.loads(r[0]) for r in rows]

    # ------------------------------------------------------------------ audit

    def add_audit(self, *, hook_instance: str, service_id: str, hook: str, outcome: str, card_uuids: list[str],
                  knowledge_version: str | None, duration_ms: float, issuer: str | None = None,
                  tenant: str | None = None) -> None:
        """One record per invocation; strings are clipped to their columns so an odd value never fails the call
        (PostgreSQL enforces VARCHAR lengths, SQLite does not)."""
        values = {"hook_instance": hook_instance, "service_id": service_id, "hook": hook, "issuer": issuer,
                  "tenant": tenant, "outcome": outcome, "knowledge_version": knowledge_version}
        values = {name: _clip(value, audit_table.c[name]) for name, value in values.items()}
        with self.engine.begin() as conn:
            audit_id = conn.execute(insert(audit_table).values(
                **values, card_uuids=json.dumps(card_uuids), duration_ms=duration_ms,
                created_at=_now())).inserted_primary_key[0]
            if card_uuids:
                conn.execute(insert(audit_card_table), [
                    {"audit_id": audit_id, "card_uuid": _clip(u, audit_card_table.c.card_uuid)} for u in card_uuids])

    def audit_for(self, hook_instance: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_table).where(audit_table.c.hook_instance == hook_instance)
                                .order_by(audit_table.c.id)).mappings().all()
        return [{**dict(r), "card_uuids": json.loads(r["card_uuids"])} for r in rows]

    def audit_for_card(self, card_uuid: str) -> list[dict]:
        """The invocation(s) that showed this card: what feedback on it is joined to."""
        joined = audit_table.join(audit_card_table, audit_card_table.c.audit_id == audit_table.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_table).select_from(joined)
                                .where(audit_card_table.c.card_uuid == card_uuid)
                                .order_by(audit_table.c.id)).mappings().all()
        return [{**dict(r), "card_uuids": json.loads(r["card_uuids"])} for r in rows]

    def purge_audit(self, older_than: timedelta, *, now: datetime | None = None) -> int:
        """Delete audit records created more than ``older_than`` before ``now``. :return: records deleted."""
        cutoff = (now or _now()) - older_than
        old = select(audit_table.c.id).where(audit_table.c.created_at < cutoff)
        with self.engine.begin() as conn:
            conn.execute(delete(audit_card_table).where(audit_card_table.c.audit_id.in_(old)))
            return conn.execute(delete(audit_table).where(audit_table.c.created_at < cutoff)).rowcount

    # ------------------------------------------------------------------ JWT replay cache

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime, *, now: datetime | None = None) -> bool:
        """Record a token id until ``expires_at``. :return: False when it was already seen and has not expired
        (a replay). The unique key makes two replicas racing on one token end in one success, one refusal.
        """
        key = hashlib.sha256(f"{issuer}\n{jti}".encode()).hexdigest()
        now = now or _now()
        with self.engine.begin() as conn:
            conn.execute(delete(jti_table).where(jti_table.c.expires_at < now))
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(jti_table).values(key=key, expires_at=expires_at))
            return True
        except IntegrityError:
            return False
