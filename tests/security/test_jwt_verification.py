"""The client JWT is checked in full (spec "Trusting CDS Clients", best practices "CDS Services > JWT"); every
refusal is a bare Unauthorized whose reason is logged without the token."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime, timezone

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization

from cds_hooks.auth import JwtAuthenticator, MemoryReplayCache, clients_from
from cds_hooks.errors import Unauthorized
from cds_hooks.storage import Store
from tests.builders import NOW
from tests.security.tokens import (DISCOVERY_AUD, ISSUER, ORDER_AUD, SPEC_AUD, SPEC_EXP, SPEC_ISSUER, SPEC_JKU,
                                   SPEC_JWKS, SPEC_TOKEN, Signer)

T = int(NOW.timestamp())


def refusal_reason(authenticator, token: str, caplog, audience: str = ORDER_AUD) -> str:
    """Assert the token is refused with a bare Unauthorized; return the logged reason."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cds_hooks.auth"):
        with pytest.raises(Unauthorized) as raised:
            authenticator(f"Bearer {token}", audience)
    assert raised.value.operation_outcome()["issue"][0]["diagnostics"] == "Unauthorized"
    events = [r.event for r in caplog.records if getattr(r, "event", {}).get("auth") == "refused"]
    assert events, "every refusal is logged"
    logged = caplog.text + json.dumps([r.event for r in caplog.records if hasattr(r, "event")], default=str)
    signature = token.split(".")[-1]
    assert token not in logged and (not signature or signature not in logged), "the token never reaches the log"
    return events[-1]["reason"]


# --------------------------------------------------------------------------- the spec's own example token

def spec_authenticator(clock_at: datetime) -> JwtAuthenticator:
    # The example token lives 3.5 years (iat 2011, exp 2015): the lifetime bound is raised for it alone.
    clients = clients_from([{"iss": SPEC_ISSUER, "jku": [SPEC_JKU], "max_token_lifetime_s": 200_000_000}])
    return JwtAuthenticator(clients, replay=MemoryReplayCache(), clock=lambda: clock_at)


@responses.activate
def test_the_spec_example_token_is_refused_as_expired_today(caplog):
    responses.get(SPEC_JKU, json=SPEC_JWKS)
    assert refusal_reason(spec_authenticator(NOW), SPEC_TOKEN, caplog, SPEC_AUD) == "expired"


@responses.activate
def test_the_spec_example_token_is_accepted_before_it_expired_with_its_aud_and_jwks_from_its_jku():
    responses.get(SPEC_JKU, json=SPEC_JWKS)
    before_expiry = datetime.fromtimestamp(SPEC_EXP - 3600, timezone.utc)
    identity = spec_authenticator(before_expiry)(f"Bearer {SPEC_TOKEN}", SPEC_AUD)
    assert (identity.issuer, identity.tenant, identity.kid) == (
        SPEC_ISSUER, "2ddd6c3a-8e9a-44c6-a305-52111ad302a2", "example-kid")
    assert len(responses.calls) == 1 and responses.calls[0].request.url == SPEC_JKU


@responses.activate
def test_the_spec_example_token_is_refused_for_another_endpoint(caplog):
    responses.get(SPEC_JKU, json=SPEC_JWKS)
    before_expiry = datetime.fromtimestamp(SPEC_EXP - 3600, timezone.utc)
    reason = refusal_reason(spec_authenticator(before_expiry), SPEC_TOKEN, caplog,
                            "https://cds.example.org/cds-services/other-service")
    assert reason == "aud does not name this endpoint"


def test_the_spec_example_token_with_a_flipped_signature_byte_is_refused(caplog):
    head, body, signature = SPEC_TOKEN.split(".")
    forged = ".".join([head, body, ("A" if signature[0] != "A" else "B") + signature[1:]])
    clients = clients_from([{"iss": SPEC_ISSUER, "jku": [SPEC_JKU], "jwks": SPEC_JWKS,
                             "max_token_lifetime_s": 200_000_000}])
    authenticator = JwtAuthenticator(clients, replay=MemoryReplayCache(),
                                     clock=lambda: datetime.fromtimestamp(SPEC_EXP - 60, timezone.utc))
    assert refusal_reason(authenticator, forged, caplog, SPEC_AUD) == "signature invalid"


# --------------------------------------------------------------------------- fresh keys

@pytest.mark.parametrize("signer_name", ["es384", "rs384"])
def test_a_token_signed_with_a_fresh_key_of_the_recommended_algorithms_is_accepted(signer_name, request,
                                                                                   authenticator):
    signer = request.getfixturevalue(signer_name)
    identity = authenticator(f"Bearer {signer.token(NOW, tenant='tenant-a')}", ORDER_AUD)
    assert (identity.issuer, identity.tenant, identity.kid, identity.client) == (
        ISSUER, "tenant-a", signer.kid, "Example EHR")
    assert identity.fhir_hosts == frozenset({"fhir.ehr.example.org"})


def test_aud_may_be_an_array_naming_this_endpoint(es384, authenticator):
    token = es384.token(NOW, tenant="tenant-a", aud=["https://other.example/x", DISCOVERY_AUD])
    assert authenticator(f"Bearer {token}", DISCOVERY_AUD).issuer == ISSUER


def test_clock_skew_within_the_leeway_is_tolerated(es384, authenticator):
    token = es384.token(NOW, tenant="tenant-a", iat=T + 50, nbf=T + 50, exp=T - 50 + 300)
    assert authenticator(f"Bearer {token}", ORDER_AUD).jti


def test_the_scheme_word_bearer_is_case_insensitive(es384, authenticator):
    assert authenticator(f"bearer {es384.token(NOW, tenant='tenant-a')}", ORDER_AUD).issuer == ISSUER


# --------------------------------------------------------------------------- every refusal

def hs256(secret: str | bytes, signer: Signer) -> str:
    """Signed by hand: PyJWT itself refuses to HMAC with a public key, which is what an attacker would do."""
    header = {"alg": "HS256", "typ": "JWT", "kid": signer.kid}
    payload = {"iss": ISSUER, "aud": ORDER_AUD, "iat": T, "exp": T + 300, "jti": "j", "tenant": "tenant-a"}
    signing_input = b".".join(jwt.utils.base64url_encode(json.dumps(part).encode()) for part in (header, payload))
    key = secret.encode() if isinstance(secret, str) else secret
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()


def unsigned(signer: Signer) -> str:
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT", "kid": signer.kid}).encode())
    body = jwt.utils.base64url_encode(json.dumps({"iss": ISSUER, "aud": ORDER_AUD, "iat": T, "exp": T + 300,
                                                  "jti": "j", "tenant": "tenant-a"}).encode())
    return f"{header.decode()}.{body.decode()}."


def public_pem(signer: Signer) -> bytes:
    return signer.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)


REFUSALS = {
    "alg none": (lambda s, r: unsigned(s), "unsigned token (alg none)"),
    "HS256 with a shared secret": (lambda s, r: hs256("a-shared-secret-of-decent-length-0123456789", s),
                                   "algorithm is not asymmetric or not supported"),
    "HS256 keyed with the client's public key (algorithm confusion)": (
        lambda s, r: hs256(public_pem(r), r), "algorithm is not asymmetric or not supported"),
    "typ other than JWT": (lambda s, r: s.token(NOW, tenant="tenant-a", headers={"typ": "at+jwt"}),
                           "typ is not JWT"),
    "no kid": (lambda s, r: jwt.encode({"iss": ISSUER, "aud": ORDER_AUD, "iat": T, "exp": T + 300, "jti": "j"},
                                       s.private_key, algorithm="ES384"), "kid missing"),
    "unknown kid": (lambda s, r: s.token(NOW, tenant="tenant-a", headers={"kid": "not-in-the-jwks"}),
                    "unknown kid"),
    "kid of a key of another type": (lambda s, r: s.token(NOW, tenant="tenant-a", headers={"kid": r.kid}),
                                     "key does not fit the algorithm"),
    "signed by a stranger's key under a known kid": (
        lambda s, r: Signer("ES384", kid=s.kid).token(NOW, tenant="tenant-a"), "signature invalid"),
    "iss not allowed": (lambda s, r: s.token(NOW, tenant="tenant-a", iss="https://attacker.example"),
                        "issuer not trusted"),
    "jku not allowed": (lambda s, r: s.token(NOW, tenant="tenant-a",
                                             headers={"jku": "https://attacker.example/jwks.json"}),
                        "jku not on the allowlist"),
    "aud of another endpoint": (lambda s, r: s.token(NOW, tenant="tenant-a", aud=DISCOVERY_AUD),
                                "aud does not name this endpoint"),
    "aud array without this endpoint": (lambda s, r: s.token(NOW, tenant="tenant-a", aud=[DISCOVERY_AUD]),
                                        "aud does not name this endpoint"),
    "aud missing": (lambda s, r: s.token(NOW, tenant="tenant-a", drop=("aud",)), "aud does not name this endpoint"),
    "expired beyond the leeway": (lambda s, r: s.token(NOW, tenant="tenant-a", iat=T - 400, exp=T - 61),
                                  "expired"),
    "nbf in the future beyond the leeway": (lambda s, r: s.token(NOW, tenant="tenant-a", nbf=T + 61),
                                            "not yet valid (nbf)"),
    "iat in the future beyond the leeway": (lambda s, r: s.token(NOW, tenant="tenant-a", iat=T + 61, exp=T + 300),
                                            "issued in the future"),
    "exp missing": (lambda s, r: s.token(NOW, tenant="tenant-a", drop=("exp",)), "exp or iat missing"),
    "iat missing": (lambda s, r: s.token(NOW, tenant="tenant-a", drop=("iat",)), "exp or iat missing"),
    "exp not a number": (lambda s, r: s.token(NOW, tenant="tenant-a", exp=str(T + 300)), "exp or iat missing"),
    "lifetime above the client's bound": (lambda s, r: s.token(NOW, tenant="tenant-a", exp=T + 3601),
                                          "lifetime out of bounds"),
    "jti missing": (lambda s, r: s.token(NOW, tenant="tenant-a", drop=("jti",)), "jti missing"),
    "jti empty": (lambda s, r: s.token(NOW, tenant="tenant-a", jti=""), "jti missing"),
    "tenant not allowed": (lambda s, r: s.token(NOW, tenant="tenant-b"), "tenant not allowed"),
    "tenant missing while the client has a tenant allowlist": (lambda s, r: s.token(NOW), "tenant not allowed"),
    "not a JWT at all": (lambda s, r: "not.a.jwt", "malformed token"),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_each_invalid_token_is_refused_for_its_own_reason_without_logging_the_token(case, es384, rs384,
                                                                                     authenticator, caplog):
    build, expected = REFUSALS[case]
    with responses.RequestsMock() as mocked:   # no fetch may leave for a refused jku or issuer
        assert refusal_reason(authenticator, build(es384, rs384), caplog) == expected
        assert [c.request.url for c in mocked.calls if "attacker" in c.request.url] == []


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 20_000])
def test_a_missing_or_non_bearer_authorization_header_is_refused(header, authenticator):
    with pytest.raises(Unauthorized):
        authenticator(header, ORDER_AUD)


def test_an_algorithm_the_client_is_not_trusted_with_is_refused(es384, rs384, client_config, caplog):
    clients = clients_from([{**client_config, "algorithms": ["ES384"]}])
    authenticator = JwtAuthenticator(clients, replay=MemoryReplayCache(), clock=lambda: NOW)
    assert authenticator(f"Bearer {es384.token(NOW, tenant='tenant-a')}", ORDER_AUD).kid == es384.kid
    reason = refusal_reason(authenticator, rs384.token(NOW, tenant="tenant-a"), caplog)
    assert reason == "algorithm not allowed for this client"


def test_a_client_without_a_tenant_allowlist_accepts_any_tenant_and_none(es384, client_config):
    clients = clients_from([{k: v for k, v in client_config.items() if k != "tenants"}])
    authenticator = JwtAuthenticator(clients, replay=MemoryReplayCache(), clock=lambda: NOW)
    assert authenticator(f"Bearer {es384.token(NOW)}", ORDER_AUD).tenant is None
    assert authenticator(f"Bearer {es384.token(NOW, tenant='any')}", ORDER_AUD).tenant == "any"


# --------------------------------------------------------------------------- replay

def test_a_replayed_token_is_refused_until_it_expires(es384, authenticator, clock, caplog):
    token = es384.token(NOW, tenant="tenant-a")
    authenticator(f"Bearer {token}", ORDER_AUD)
    assert refusal_reason(authenticator, token, caplog) == "replayed jti"
    clock.advance(300 + 60 + 1)   # past exp and the leeway: the token is refused as expired, not as a replay
    assert refusal_reason(authenticator, token, caplog) == "expired"


def test_replicas_sharing_one_database_refuse_a_token_replayed_against_another_replica(es384, client_config,
                                                                                      tmp_path, caplog):
    url = f"sqlite:///{tmp_path}/shared.sqlite3"
    replica_a, replica_b = (JwtAuthenticator(clients_from([client_config]), replay=Store(url),
                                             clock=lambda: NOW) for _ in range(2))
    token = es384.token(NOW, tenant="tenant-a")
    replica_a(f"Bearer {token}", ORDER_AUD)
    assert refusal_reason(replica_b, token, caplog) == "replayed jti"


def test_the_same_jti_from_two_issuers_is_not_a_replay(es384, client_config):
    other = {**client_config, "iss": "https://other-ehr.example.org"}
    authenticator = JwtAuthenticator(clients_from([client_config, other]), replay=MemoryReplayCache(),
                                     clock=lambda: NOW)
    jti = str(uuid.uuid4())
    authenticator(f"Bearer {es384.token(NOW, tenant='tenant-a', jti=jti)}", ORDER_AUD)
    second = es384.token(NOW, tenant="tenant-a", jti=jti, iss="https://other-ehr.example.org")
    assert authenticator(f"Bearer {second}", ORDER_AUD).issuer == "https://other-ehr.example.org"


@pytest.mark.filterwarnings("ignore:The RSA key is 1024 bits")
def test_a_weak_rsa_key_is_refused_even_when_the_client_publishes_it(caplog):
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    jwk = {**RSAAlgorithm.to_jwk(weak.public_key(), as_dict=True), "kid": "weak", "alg": "RS384"}
    authenticator = JwtAuthenticator(clients_from([{"iss": ISSUER, "jwks": {"keys": [jwk]}}]),
                                     replay=MemoryReplayCache(), clock=lambda: NOW)
    token = jwt.encode({"iss": ISSUER, "aud": ORDER_AUD, "iat": T, "exp": T + 300, "jti": "w"}, weak,
                       algorithm="RS384", headers={"kid": "weak"})
    assert refusal_reason(authenticator, token, caplog) == "signature invalid"
