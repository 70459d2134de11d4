"""FHIR access: only to hosts the calling client is allowed to send us to, https in production, no
loopback/link-local/private address unless configured (no SSRF); every fetch bounded in time, pages, bytes."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
import requests
import responses

from cds_hooks import FhirAccessError, FhirClient, FhirLimits, FhirServerRefused, HookRequest
from service.app import _fhir_client_factory
from service.settings import Settings
from tests.builders import NOW, bundle, hook_request, medication_request, observation, patient

EHR = frozenset({"fhir.ehr.example.org"})


def client_for(identity_hosts: frozenset[str] | None, fhir_server: str, **settings):
    factory = _fhir_client_factory(Settings(**settings), requests.Session(), FhirLimits())
    identity = None if identity_hosts is None else SimpleNamespace(issuer="i", tenant=None, fhir_hosts=identity_hosts)
    request = HookRequest(hook="patient-view", hook_instance="h", context={}, fhir_server=fhir_server)
    return factory(request, time.monotonic() + 5, identity)


def test_a_fhir_server_on_the_clients_allowlist_is_called():
    assert client_for(EHR, "https://fhir.ehr.example.org/r4").base_url == "https://fhir.ehr.example.org/r4/"


def test_host_names_match_case_insensitively():
    assert client_for(EHR, "https://FHIR.EHR.example.org/r4")


@pytest.mark.parametrize("server", ["https://evil.example/fhir", "https://fhir.ehr.example.org.evil.example/fhir",
                                    "https://fhir.ehr.example.org@evil.example/fhir", "https://127.0.0.1/fhir"])
def test_a_fhir_server_off_the_clients_allowlist_is_refused(server):
    with pytest.raises(FhirServerRefused):
        client_for(EHR, server)


def test_a_client_without_fhir_hosts_never_makes_us_fetch():
    with pytest.raises(FhirServerRefused, match="no FHIR server hosts"):
        client_for(frozenset(), "https://fhir.ehr.example.org/r4")


@pytest.mark.parametrize("server", ["file:///etc/passwd", "gopher://fhir.ehr.example.org/", "fhir.ehr.example.org"])
def test_only_http_urls_are_ever_called(server):
    with pytest.raises(FhirServerRefused):
        client_for(None, server)


def test_production_refuses_http_even_when_http_was_allowed():
    with pytest.raises(FhirServerRefused, match="https"):
        client_for(EHR, "http://fhir.ehr.example.org/r4", production=True, allow_http_fhir=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "172.16.4.4", "169.254.169.254", "[::1]",
                                  "[fe80::1]", "0.0.0.0", "localhost"])
def test_production_refuses_loopback_link_local_and_private_addresses(host):
    hostname = host.strip("[]")
    with pytest.raises(FhirServerRefused):
        client_for(frozenset({hostname}), f"https://{host}/fhir", production=True)


def test_a_private_fhir_server_is_allowed_in_production_only_when_configured():
    assert client_for(frozenset({"10.1.2.3"}), "https://10.1.2.3/fhir", production=True, allow_private_fhir=True)


# --------------------------------------------------------------------------- through the app

def test_a_client_cannot_send_the_service_to_a_host_off_its_allowlist(secure_app, es384):
    app = secure_app()
    body = hook_request(orders=[medication_request()], fhirServer="https://internal.example/fhir",
                        fhirAuthorization={"access_token": "t", "token_type": "Bearer", "scope": "patient/*.read",
                                           "subject": "cds", "expires_in": 300})
    with responses.RequestsMock() as mocked:
        response = app.test_client().post("/cds-services/inotuzumab-order-check", json=body,
                                          headers={"Authorization": f"Bearer {es384.token(NOW, tenant='tenant-a')}"})
        assert len(mocked.calls) == 0
    assert response.status_code == 412, "the required patient could not be had: nothing was fetched"


def test_an_allowed_fhir_server_is_read_with_the_requests_token(secure_app, es384):
    app = secure_app()
    body = hook_request(orders=[medication_request()], fhirServer="https://fhir.ehr.example.org/r4",
                        fhirAuthorization={"access_token": "access-123", "token_type": "Bearer",
                                           "scope": "patient/*.read", "subject": "cds", "expires_in": 300})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get("https://fhir.ehr.example.org/r4/Patient/pat-1", json=patient())
        mocked.get(re.compile(r"https://fhir\.ehr\.example\.org/r4/\w+\?.*"), json=bundle())
        response = app.test_client().post("/cds-services/inotuzumab-order-check", json=body,
                                          headers={"Authorization": f"Bearer {es384.token(NOW, tenant='tenant-a')}"})
        assert response.status_code == 200
        assert mocked.calls and all(c.request.headers["Authorization"] == "Bearer access-123" for c in mocked.calls)


# --------------------------------------------------------------------------- fetch bounds

BASE = "https://fhir.ehr.example.org/r4/"


def fhir(limits: FhirLimits = FhirLimits(timeout_s=0.5, max_pages=3, max_bytes=10_000), deadline: float | None = None,
         token: str | None = "tok") -> FhirClient:
    return FhirClient(BASE, token, requests.Session(), limits, deadline)


@responses.activate
def test_each_fetch_carries_a_timeout_no_longer_than_the_limit():
    responses.get(f"{BASE}Patient/p", json=patient(patient_id="p"))
    fhir().get("Patient/p")
    assert 0 < responses.calls[0].request.req_kwargs["timeout"] <= 0.5


@responses.activate
def test_the_timeout_is_cut_by_the_request_deadline():
    responses.get(f"{BASE}Patient/p", json=patient(patient_id="p"))
    fhir(deadline=time.monotonic() + 0.1).get("Patient/p")
    assert responses.calls[0].request.req_kwargs["timeout"] <= 0.1


@responses.activate
def test_no_fetch_starts_after_the_deadline():
    with pytest.raises(FhirAccessError, match="deadline"):
        fhir(deadline=time.monotonic() - 1).get("Patient/p")
    assert len(responses.calls) == 0


@responses.activate
def test_a_timeout_becomes_a_fhir_access_error():
    responses.get(f"{BASE}Patient/p", body=requests.Timeout("slow"))
    with pytest.raises(FhirAccessError, match="Timeout"):
        fhir().get("Patient/p")


@responses.activate
def test_pages_are_followed_up_to_the_bound_and_no_further():
    for page in range(10):
        responses.get(f"{BASE}Observation?page={page}", json={
            "resourceType": "Bundle", "type": "searchset", "entry": [{"resource": observation("1-8", obs_id=f"o{page}")}],
            "link": [{"relation": "next", "url": f"{BASE}Observation?page={page + 1}"}]})
    with pytest.raises(FhirAccessError, match="pages"):
        fhir().get("Observation?page=0")
    assert len(responses.calls) == 1 + 3, "the first page and at most max_pages next links"


@responses.activate
def test_pages_within_the_bound_are_merged():
    responses.get(f"{BASE}Observation?page=0", json={**bundle(observation("1-8", obs_id="a")),
                                                     "link": [{"relation": "next", "url": f"{BASE}Observation?page=1"}]})
    responses.get(f"{BASE}Observation?page=1", json=bundle(observation("1-8", obs_id="b")))
    merged = fhir().get("Observation?page=0")
    assert [e["resource"]["id"] for e in merged["entry"]] == ["a", "b"]


@responses.activate
def test_a_next_link_to_another_origin_is_not_followed_and_the_token_stays_home():
    responses.get(f"{BASE}Observation", json={**bundle(), "link": [{"relation": "next",
                                                                   "url": "https://evil.example/steal"}]})
    with pytest.raises(FhirServerRefused):
        fhir().get("Observation")
    assert [c.request.url for c in responses.calls] == [f"{BASE}Observation"]


@responses.activate
def test_a_declared_oversized_body_is_refused():
    responses.get(f"{BASE}Patient/p", body="{}", headers={"Content-Length": "10000001"}, auto_calculate_content_length=False)
    with pytest.raises(FhirAccessError, match="too large"):
        fhir().get("Patient/p")


@responses.activate
def test_an_undeclared_oversized_body_is_cut_off_while_streaming():
    responses.get(f"{BASE}Patient/p", body=b'{"resourceType":"Patient","x":"' + b"a" * 20_000 + b'"}')
    with pytest.raises(FhirAccessError, match="too large"):
        fhir().get("Patient/p")


@responses.activate
def test_redirects_are_not_followed():
    responses.get(f"{BASE}Patient/p", status=302, headers={"Location": "https://evil.example/p"})
    with pytest.raises(FhirAccessError, match="302"):
        fhir().get("Patient/p")
    assert len(responses.calls) == 1


def test_the_client_repr_never_shows_the_token():
    assert "secret-token" not in repr(fhir(token="secret-token"))


def test_the_app_applies_the_configured_size_bound_and_answers_without_the_oversized_data(secure_app, es384):
    app = secure_app(fhir_max_bytes=2_000)
    body = hook_request(orders=[medication_request()], prefetch={"patient": patient()},
                        fhirServer="https://fhir.ehr.example.org/r4")
    huge = bundle(*[observation("29463-7", value=70, unit="kg", obs_id=f"w{i}") for i in range(50)])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get(re.compile(r"https://fhir\.ehr\.example\.org/r4/.*"), json=huge)
        response = app.test_client().post("/cds-services/inotuzumab-order-check", json=body,
                                          headers={"Authorization": f"Bearer {es384.token(NOW, tenant='tenant-a')}"})
    assert response.status_code == 200
    assert "Could not retrieve" in response.get_data(as_text=True), "the cards say what could not be read"


@pytest.mark.parametrize("server", ["http://\x03]]H+z", "https://[::1/fhir", "https://fhir.ehr.example.org:99999/r4"])
def test_a_malformed_fhir_server_url_is_refused_not_a_crash(server):
    """Found by the schemathesis run: urlsplit raises ValueError on these."""
    with pytest.raises(FhirServerRefused):
        client_for(None, server)


@responses.activate
def test_a_malformed_next_link_is_a_fhir_access_error_not_a_crash():
    responses.get(f"{BASE}Observation", json={**bundle(), "link": [{"relation": "next", "url": "https://[bad"}]})
    with pytest.raises(FhirAccessError):
        fhir().get("Observation")
