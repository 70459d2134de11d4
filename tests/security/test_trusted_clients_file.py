"""The trusted-clients file: the documented example loads; anything unsafe or misspelt stops start-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cds_hooks.auth import TrustedClientsError, load_trusted_clients
from tests.security.tokens import ISSUER, JKU, SPEC_ISSUER, Signer, jwks

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trusted-clients.example.yaml"


def write(tmp_path, *clients, extra_files: dict | None = None) -> Path:
    for name, content in (extra_files or {}).items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": list(clients)}))
    return path


def test_the_example_file_in_the_repository_loads():
    clients = load_trusted_clients(EXAMPLE)
    spec = clients[SPEC_ISSUER]
    assert "example-kid" in spec.jwks and spec.fhir_hosts == frozenset({"fhir-ehr.example.com"})
    health = clients["https://fhir.example-health.org/api/FHIR/R4"]
    assert health.algorithms == frozenset({"RS384", "ES384"}) and health.tenants == frozenset({"example-health-main"})
    assert health.max_lifetime_s == 900


def test_a_jwks_file_is_read_relative_to_the_trusted_clients_file(tmp_path, es384):
    path = write(tmp_path, {"iss": ISSUER, "jwks_file": "keys.json"}, extra_files={"keys.json": json.dumps(jwks(es384))})
    assert set(load_trusted_clients(path)[ISSUER].jwks) == {es384.kid}


def test_host_names_are_compared_in_lower_case(tmp_path):
    path = write(tmp_path, {"iss": ISSUER, "jku": [JKU], "fhir_hosts": ["FHIR.Example.ORG"]})
    assert load_trusted_clients(path)[ISSUER].fhir_hosts == frozenset({"fhir.example.org"})


def private_jwks() -> dict:
    from jwt.algorithms import ECAlgorithm
    signer = Signer("ES384")
    return {"keys": [{**ECAlgorithm.to_jwk(signer.private_key, as_dict=True), "kid": "k"}]}


BROKEN = {
    "no iss": {"jku": [JKU]},
    "no keys at all": {"iss": ISSUER},
    "http jku": {"iss": ISSUER, "jku": ["http://ehr.example.org/jwks"]},
    "HMAC algorithm": {"iss": ISSUER, "jku": [JKU], "algorithms": ["HS256"]},
    "alg none": {"iss": ISSUER, "jku": [JKU], "algorithms": ["none"]},
    "misspelt key": {"iss": ISSUER, "jku": [JKU], "fhir_host": ["x"]},
    "tenants not a list": {"iss": ISSUER, "jku": [JKU], "tenants": "tenant-a"},
    "a private key in the static JWKS": {"iss": ISSUER, "jwks": private_jwks()},
    "not a JWK Set": {"iss": ISSUER, "jwks": {"kty": "EC"}},
    "missing jwks file": {"iss": ISSUER, "jwks_file": "nowhere.json"},
    "zero lifetime": {"iss": ISSUER, "jku": [JKU], "max_token_lifetime_s": 0},
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_an_unsafe_or_misspelt_client_entry_is_refused(case, tmp_path):
    with pytest.raises(TrustedClientsError):
        load_trusted_clients(write(tmp_path, BROKEN[case]))


def test_the_same_issuer_twice_is_refused(tmp_path):
    with pytest.raises(TrustedClientsError, match="twice"):
        load_trusted_clients(write(tmp_path, {"iss": ISSUER, "jku": [JKU]}, {"iss": ISSUER, "jku": [JKU]}))


@pytest.mark.parametrize("content", ["", "clients: []", "clients: nope", ": not yaml :", "- a list"])
def test_an_empty_or_unreadable_file_is_refused(content, tmp_path):
    path = tmp_path / "clients.yaml"
    path.write_text(content)
    with pytest.raises(TrustedClientsError):
        load_trusted_clients(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(TrustedClientsError):
        load_trusted_clients(tmp_path / "absent.yaml")
