"""The PostgreSQL test support says clearly why it cannot run, instead of failing obscurely."""

from __future__ import annotations

import pytest

from tests.support import postgres


def test_missing_server_binaries_give_a_clear_reason(monkeypatch):
    monkeypatch.setattr(postgres, "find_binary", lambda name: None)
    with pytest.raises(postgres.PostgresUnavailable, match="postgresql"):
        postgres.PostgresServer.start()


def test_the_newest_installed_server_version_is_preferred(monkeypatch):
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: ["/usr/lib/postgresql/9/bin/initdb",
                                                                "/usr/lib/postgresql/15/bin/initdb"])
    assert postgres.find_binary("initdb") == "/usr/lib/postgresql/15/bin/initdb"
