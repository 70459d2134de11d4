"""Every storage test runs twice: on SQLite (development) and on a real PostgreSQL (production: several
replicas share it). PostgreSQL is started on loopback for the session; under CI it must be there."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine

from cds_hooks.storage import Store, metadata
from tests.support.postgres import PostgresServer, PostgresUnavailable


@pytest.fixture(scope="session")
def postgres_url():
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests must run in CI: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield server.url
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cds.sqlite3"
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    yield store
    store.engine.dispose()


@pytest.fixture
def replicas(database_url):
    """Two Store objects on one database: what two service replicas behind a load balancer have."""
    pair = (Store(database_url), Store(database_url))
    yield pair
    for one in pair:
        one.engine.dispose()
