"""Fixtures for the trust tests: client signing keys (generated once), trusted clients, an authenticating app."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import yaml

from cds_hooks.auth import JwtAuthenticator, MemoryReplayCache, clients_from
from tests.builders import NOW
from tests.security.tokens import BASE_URL, ISSUER, JKU, Signer, jwks


@pytest.fixture(scope="session")
def es384() -> Signer:
    return Signer("ES384")


@pytest.fixture(scope="session")
def rs384() -> Signer:
    return Signer("RS384")


class Clock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client_config(es384, rs384) -> dict:
    """One trusted EHR: static keys for ES384 and RS384, its jku URL, a tenant allowlist, one FHIR host."""
    return {"iss": ISSUER, "name": "Example EHR", "jku": [JKU], "jwks": jwks(es384, rs384),
            "tenants": ["tenant-a"], "fhir_hosts": ["fhir.ehr.example.org"]}


@pytest.fixture
def authenticator(client_config, clock):
    return JwtAuthenticator(clients_from([client_config]), replay=MemoryReplayCache(), leeway_s=60, clock=clock)


@pytest.fixture
def trusted_clients_file(tmp_path, es384, rs384):
    """A trusted-clients YAML file with the keys in a separate JWKS file, as an operator would write it."""
    (tmp_path / "ehr.jwks.json").write_text(json.dumps(jwks(es384, rs384)))
    document = {"clients": [{"iss": ISSUER, "name": "Example EHR", "jku": [JKU], "jwks_file": "ehr.jwks.json",
                             "tenants": ["tenant-a"], "fhir_hosts": ["fhir.ehr.example.org"]}]}
    path = tmp_path / "trusted-clients.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def secure_app(make_app, trusted_clients_file):
    """The app with client authentication on and a configured public base URL (the JWT aud)."""
    def build(**overrides):
        return make_app(**{"auth_disabled": False, "trusted_clients": str(trusted_clients_file),
                           "public_base_url": BASE_URL, **overrides})
    return build
