"""Keys published at a jku URL: fetched, cached, fetched again once on an unknown kid (key rotation), but
never more often than the rate limit allows, and only from allowlisted URLs."""

from __future__ import annotations

import pytest
import requests
import responses

from cds_hooks.auth import JwksCache, JwtAuthenticator, MemoryReplayCache, clients_from
from cds_hooks.errors import Unauthorized
from tests.security.tokens import ISSUER, JKU, ORDER_AUD, Signer, jwks


@pytest.fixture
def jku_client():
    """A client whose keys are only at its jku URL (no static keys)."""
    return clients_from([{"iss": ISSUER, "jku": [JKU]}])


@pytest.fixture
def authenticator(jku_client, clock):
    cache = JwksCache(requests.Session(), clock=clock, ttl_s=3600, min_refresh_s=60)
    return JwtAuthenticator(jku_client, replay=MemoryReplayCache(), clock=clock, jwks=cache)


def call(authenticator, signer: Signer, clock, **headers):
    return authenticator(f"Bearer {signer.token(clock(), headers=headers or None)}", ORDER_AUD)


@responses.activate
def test_keys_are_fetched_once_and_then_served_from_the_cache(authenticator, es384, clock):
    responses.get(JKU, json=jwks(es384))
    for _ in range(3):
        assert call(authenticator, es384, clock, jku=JKU).kid == es384.kid
        clock.advance(10)
    assert len(responses.calls) == 1


@responses.activate
def test_a_token_without_jku_uses_the_clients_configured_jku(authenticator, es384, clock):
    responses.get(JKU, json=jwks(es384))
    assert call(authenticator, es384, clock).kid == es384.kid
    assert [c.request.url for c in responses.calls] == [JKU]


@responses.activate
def test_a_rotated_key_is_fetched_once_and_unknown_kids_are_rate_limited(authenticator, es384, rs384, clock):
    responses.get(JKU, json=jwks(es384))
    call(authenticator, es384, clock)
    clock.advance(120)
    responses.replace(responses.GET, JKU, json=jwks(es384, rs384))     # the EHR rotates in a new key
    assert call(authenticator, rs384, clock).kid == rs384.kid
    assert len(responses.calls) == 2

    stranger = Signer("ES384")                                          # a kid nobody published
    for _ in range(5):
        with pytest.raises(Unauthorized):
            call(authenticator, stranger, clock)
    assert len(responses.calls) == 2, "unknown kids within the rate limit do not trigger fetches"

    clock.advance(61)
    with pytest.raises(Unauthorized):
        call(authenticator, stranger, clock)
    assert len(responses.calls) == 3, "after the rate-limit interval one more fetch is allowed"


@responses.activate
def test_cached_keys_are_refreshed_after_their_time_to_live(authenticator, es384, rs384, clock):
    responses.get(JKU, json=jwks(es384, rs384))
    call(authenticator, es384, clock)
    clock.advance(3601)
    responses.replace(responses.GET, JKU, json=jwks(rs384))             # es384 was retired
    with pytest.raises(Unauthorized):
        call(authenticator, es384, clock)
    assert len(responses.calls) == 2


@responses.activate
def test_a_failing_jwks_endpoint_gives_401_and_keeps_the_keys_already_known(authenticator, es384, rs384, clock):
    responses.get(JKU, json=jwks(es384))
    call(authenticator, es384, clock)
    clock.advance(3601)
    responses.replace(responses.GET, JKU, status=503)
    assert call(authenticator, es384, clock).kid == es384.kid, "a failed refresh keeps the known keys"
    with pytest.raises(Unauthorized):
        call(authenticator, rs384, clock)


@pytest.mark.parametrize("answer", [
    {"status": 302, "headers": {"Location": "https://attacker.example/jwks.json"}},
    {"body": "x" * 300_000},
    {"body": "not json"},
    {"json": {"keys": "not a list"}},
], ids=["redirect", "too large", "not json", "not a JWK Set"])
@responses.activate
def test_an_unusable_jwks_answer_is_refused(answer, authenticator, es384, clock):
    responses.get(JKU, **answer)
    with pytest.raises(Unauthorized):
        call(authenticator, es384, clock)
    assert [c.request.url for c in responses.calls] == [JKU], "redirects are not followed"


@responses.activate
def test_symmetric_private_and_duplicated_keys_in_a_fetched_jwks_are_never_used(authenticator, es384, clock):
    duplicated = dict(es384.jwk)
    responses.get(JKU, json={"keys": [es384.jwk, duplicated, {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]})
    with pytest.raises(Unauthorized):
        call(authenticator, es384, clock)   # the same kid twice is ambiguous


@responses.activate
def test_the_jwks_fetch_has_a_timeout(authenticator, es384, clock):
    responses.get(JKU, json=jwks(es384))
    call(authenticator, es384, clock)
    assert responses.calls[0].request.req_kwargs["timeout"] == 2.0


def test_an_unreachable_jwks_endpoint_gives_401(authenticator, es384, clock):
    with responses.RequestsMock() as mocked:
        mocked.get(JKU, body=requests.ConnectionError("refused"))
        with pytest.raises(Unauthorized):
            call(authenticator, es384, clock)
