"""Persistence through SQLAlchemy Core: feedback, the audit trail, and the JWT replay cache.

SQLite file by default, any SQLAlchemy URL (PostgreSQL in production) otherwise. Several replicas can share
one database: every write is idempotent or guarded by a unique key, so races end in one row, not an error.
Nothing stored here carries a patient identifier, a name, or a token.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import (Column, DateTime, Float, Integer, MetaData, String, Table, Text, create_engine, delete,
                        insert, select, text)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

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
    Column("outcome", String(40), nullable=False),     # e.g. the verdict, "no-cards", or an error status
    Column("card_uuids", Text, nullable=False),        # JSON list
    Column("knowledge_version", String(50)),
    Column("duration_ms", Float, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

jti_table = Table(
    "cds_jwt_replay", metadata,
    Column("key", String(64), primary_key=True),        # sha256(iss + jti): the jti itself is not kept
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    def __init__(self, url: str, *, create: bool = True):
        kwargs: dict = {"pool_pre_ping": True, "future": True} if not url.startswith("sqlite") else {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        self.engine: Engine = create_engine(url, **kwargs)
        if create:
            metadata.create_all(self.engine)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - readiness reports any database failure as "not ready"
            return False

    # ------------------------------------------------------------------ feedback

    def add_feedback(self, service_id: str, items: Iterable[dict]) -> int:
        """Store each item once (idempotent across retries and restarts). :return: rows newly stored."""
        stored = 0
        for item in items:
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
        with self.engine.begin() as conn:
            conn.execute(insert(audit_table).values(
                hook_instance=hook_instance, service_id=service_id, hook=hook, issuer=issuer, tenant=tenant,
                outcome=outcome, card_uuids=json.dumps(card_uuids), knowledge_version=knowledge_version,
                duration_ms=duration_ms, created_at=_now()))

    def audit_for(self, hook_instance: str) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_table).where(audit_table.c.hook_instance == hook_instance)
                                .order_by(audit_table.c.id)).mappings().all()
        return [{**dict(r), "card_uuids": json.loads(r["card_uuids"])} for r in rows]

    def purge_audit(self, older_than: timedelta) -> int:
        with self.engine.begin() as conn:
            return conn.execute(delete(audit_table).where(audit_table.c.created_at < _now() - older_than)).rowcount

    # ------------------------------------------------------------------ JWT replay cache

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Record a token id. :return: False when it was already seen and has not expired (a replay)."""
        key = hashlib.sha256(f"{issuer}\n{jti}".encode()).hexdigest()
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(delete(jti_table).where(jti_table.c.expires_at < now))
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(jti_table).values(key=key, expires_at=expires_at))
            return True
        except IntegrityError:
            return False
