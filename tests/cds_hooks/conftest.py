"""Fixtures for the protocol tests: the toy service, and an EHR FHIR server mocked with ``responses``."""

from __future__ import annotations

import logging

import pytest
import responses

from service.app import create_app
from service.settings import Settings
from tests.builders import NOW
from tests.cds_hooks.fake_ehr import FakeEhr
from tests.cds_hooks.toy import make_toy


@pytest.fixture(autouse=True)
def _restore_root_logging():
    """create_app installs a JSON handler on the root logger; do not let it outlive the test (its stream is
    pytest's capture of this test, closed afterwards)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The real app, one per test module (building it loads the knowledge base), with a generous FHIR deadline:
    these tests check what is read and decided, not how fast (the deadline has tests of its own), and must not
    fail on a busy machine. Tests that need their own settings or database use ``make_app``."""
    database = tmp_path_factory.mktemp("app") / "cds.sqlite3"
    return create_app(Settings(auth_disabled=True, database_url=f"sqlite:///{database}", prefetch_deadline_s=3.0,
                               fhir_timeout_s=3.0), clock=lambda: NOW)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def ehr(rsps):
    return FakeEhr(rsps)


@pytest.fixture
def make_toy_app(tmp_path):
    def build(**options):
        return make_toy(f"sqlite:///{tmp_path}/toy.sqlite3", **options)
    return build


@pytest.fixture
def toy(make_toy_app):
    return make_toy_app()


@pytest.fixture
def toy_client(toy):
    return toy.app.test_client()
