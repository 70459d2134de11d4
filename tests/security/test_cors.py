"""Browser clients (the CDS Hooks sandbox): the preflight is answered before authentication, allows the
Authorization and Content-Type headers, and only for configured origins; never `*` with credentials."""

from __future__ import annotations

import pytest

from tests.builders import NOW, hook_request, medication_request, patient
from tests.security.tokens import BASE_URL

SANDBOX = "https://sandbox.cds-hooks.org"
ORDER_PATH = "/cds-services/inotuzumab-order-check"


def preflight(client, path: str, origin: str = SANDBOX):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "authorization, content-type"})


@pytest.fixture
def client(secure_app):
    return secure_app(cors_origins=(SANDBOX, "https://ehr.example.org:8443")).test_client()


@pytest.mark.parametrize("path", ["/cds-services", ORDER_PATH, f"{ORDER_PATH}/feedback"])
def test_the_preflight_is_answered_without_a_jwt_for_an_allowed_origin(client, path):
    response = preflight(client, path)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SANDBOX
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers.get("Vary", "")


def test_an_origin_not_on_the_allowlist_gets_no_cors_headers(client):
    for response in (preflight(client, ORDER_PATH, "https://attacker.example"),
                     client.get("/cds-services", headers={"Origin": "https://attacker.example"})):
        assert "Access-Control-Allow-Origin" not in response.headers


def test_an_allowed_origin_with_a_port_matches_exactly(client):
    assert preflight(client, ORDER_PATH, "https://ehr.example.org:8443").headers[
        "Access-Control-Allow-Origin"] == "https://ehr.example.org:8443"
    assert "Access-Control-Allow-Origin" not in preflight(client, ORDER_PATH, "https://ehr.example.org").headers


def test_a_refused_call_still_carries_cors_headers_so_the_browser_can_read_the_401(client):
    body = hook_request(orders=[medication_request()], prefetch={"patient": patient()})
    response = client.post(ORDER_PATH, json=body, headers={"Origin": SANDBOX})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == SANDBOX


def test_an_authenticated_call_from_the_browser_gets_cors_headers(client, es384):
    token = es384.token(NOW, tenant="tenant-a", aud=f"{BASE_URL}/cds-services")
    response = client.get("/cds-services", headers={"Origin": SANDBOX, "Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == SANDBOX


def test_without_configured_origins_there_are_no_cors_headers(secure_app):
    response = preflight(secure_app().test_client(), ORDER_PATH)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_wildcard_origin_in_development_never_comes_with_credentials(secure_app):
    response = preflight(secure_app(cors_origins=("*",)).test_client(), ORDER_PATH, "https://any.example")
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://any.example")
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_wildcard_origin_is_refused_in_production(secure_app):
    with pytest.raises(RuntimeError, match="refused in production"):
        secure_app(production=True, cors_origins=("*",))


@pytest.mark.parametrize("origin", ["https://*.example.org", "https://ehr.example.org/app", "ehr.example.org",
                                    "https://ehr.example.org(.*)"])
def test_an_origin_entry_that_is_not_an_exact_origin_is_refused(secure_app, origin):
    with pytest.raises(RuntimeError, match="not an origin"):
        secure_app(cors_origins=(origin,))


def test_cors_covers_only_the_cds_services_endpoints(client):
    assert "Access-Control-Allow-Origin" not in client.get("/healthz", headers={"Origin": SANDBOX}).headers
