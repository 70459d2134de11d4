"""Shared fixtures: an app from the factory with a frozen clock and an in-memory database."""

from __future__ import annotations

import os

import pytest

from service.app import create_app
from service.settings import Settings
from tests.builders import NOW


@pytest.fixture(autouse=True)
def _restore_environ():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def make_app(tmp_path):
    """Build an app with settings overrides; auth off and a per-test SQLite file unless said otherwise."""
    def build(**overrides):
        values = {"auth_disabled": True, "database_url": f"sqlite:///{tmp_path}/cds.sqlite3", **overrides}
        return create_app(Settings(**values), clock=lambda: NOW)
    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()
