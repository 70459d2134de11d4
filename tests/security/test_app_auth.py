"""Every endpoint (discovery, services, feedback) demands a valid client JWT whose aud is that endpoint's
configured public URL; refusals are a bare 401; production refuses to start without the safeguards."""

from __future__ import annotations

import pytest

from cds_hooks.auth import TrustedClientsError
from tests.builders import NOW, hook_request, medication_request, patient
from tests.security.tokens import BASE_URL, DISCOVERY_AUD, ISSUER, ORDER_AUD, Signer

BARE_401 = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": "Unauthorized"}]}
FEEDBACK_AUD = f"{ORDER_AUD}/feedback"
ORDER_PATH = "/cds-services/inotuzumab-order-check"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def order_body() -> dict:
    return hook_request(orders=[medication_request()], prefetch={"patient": patient()})


def feedback_body() -> dict:
    return {"feedback": [{"card": "0c8f2e5a-1d2b-4c3d-9e8f-123456789abc", "outcome": "overridden",
                          "outcomeTimestamp": "2026-11-25T12:00:00Z"}]}


@pytest.fixture
def client(secure_app):
    return secure_app().test_client()


def test_discovery_service_and_feedback_each_accept_a_token_for_their_own_url(client, es384):
    discovery = client.get("/cds-services", headers=bearer(es384.token(NOW, tenant="tenant-a", aud=DISCOVERY_AUD)))
    call = client.post(ORDER_PATH, json=order_body(), headers=bearer(es384.token(NOW, tenant="tenant-a")))
    feedback = client.post(f"{ORDER_PATH}/feedback", json=feedback_body(),
                           headers=bearer(es384.token(NOW, tenant="tenant-a", aud=FEEDBACK_AUD)))
    assert (discovery.status_code, call.status_code, feedback.status_code) == (200, 200, 200)
    assert call.json["cards"]


@pytest.mark.parametrize("method,path,body", [("get", "/cds-services", None), ("post", ORDER_PATH, "order"),
                                              ("post", f"{ORDER_PATH}/feedback", "feedback"),
                                              ("post", "/cds-services/no-such-service", "order")])
def test_every_endpoint_without_a_token_answers_a_bare_401(client, method, path, body):
    payload = {"order": order_body(), "feedback": feedback_body()}.get(body)
    response = getattr(client, method)(path, json=payload)
    assert response.status_code == 401
    assert response.json == BARE_401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_for_one_endpoint_is_refused_at_another(client, es384):
    token = es384.token(NOW, tenant="tenant-a", aud=DISCOVERY_AUD)
    assert client.post(ORDER_PATH, json=order_body(), headers=bearer(token)).status_code == 401
    feedback_token = es384.token(NOW, tenant="tenant-a", aud=ORDER_AUD)
    response = client.post(f"{ORDER_PATH}/feedback", json=feedback_body(), headers=bearer(feedback_token))
    assert response.status_code == 401


def test_the_host_header_cannot_choose_the_audience(client, es384):
    spoofed = es384.token(NOW, tenant="tenant-a", aud="http://evil.example/cds-services")
    assert client.get("/cds-services", headers={**bearer(spoofed), "Host": "evil.example"}).status_code == 401
    honest = es384.token(NOW, tenant="tenant-a", aud=DISCOVERY_AUD)
    assert client.get("/cds-services", headers={**bearer(honest), "Host": "evil.example"}).status_code == 200


def test_all_refusals_look_the_same_to_the_caller(client, es384):
    tokens = [es384.token(NOW, tenant="tenant-a", exp=int(NOW.timestamp()) - 3600, iat=int(NOW.timestamp()) - 3700),
              es384.token(NOW, tenant="tenant-b"), es384.token(NOW, tenant="tenant-a", iss="https://x.example"),
              Signer("ES384", kid=es384.kid).token(NOW, tenant="tenant-a"), "garbage"]
    answers = [client.post(ORDER_PATH, json=order_body(), headers=bearer(t)) for t in tokens]
    assert {(a.status_code, a.get_data(as_text=True)) for a in answers} == {
        (401, answers[0].get_data(as_text=True))}
    assert answers[0].json == BARE_401


def test_a_replayed_token_is_refused_by_the_app(client, es384):
    token = es384.token(NOW, tenant="tenant-a")
    assert client.post(ORDER_PATH, json=order_body(), headers=bearer(token)).status_code == 200
    assert client.post(ORDER_PATH, json=order_body(), headers=bearer(token)).status_code == 401


def test_the_authenticated_issuer_and_tenant_are_audited(secure_app, es384):
    app = secure_app()
    body = order_body()
    app.test_client().post(ORDER_PATH, json=body, headers=bearer(es384.token(NOW, tenant="tenant-a")))
    [record] = app.extensions["inotuzumab"]["store"].audit_for(body["hookInstance"])
    assert (record["issuer"], record["tenant"]) == (ISSUER, "tenant-a")


def test_healthz_needs_no_token_and_says_nothing_about_patients(client):
    assert client.get("/healthz").json == {"status": "ok"}


# --------------------------------------------------------------------------- start-up refusals

def test_production_refuses_to_start_without_a_public_base_url(secure_app):
    with pytest.raises(RuntimeError, match="CDS_PUBLIC_BASE_URL"):
        secure_app(production=True, public_base_url=None)
    with pytest.raises(RuntimeError, match="CDS_PUBLIC_BASE_URL"):
        secure_app(production=True, public_base_url="http://cds.example.org")


def test_production_refuses_to_start_with_authentication_disabled(make_app):
    with pytest.raises(RuntimeError, match="refused in production"):
        make_app(production=True, public_base_url=BASE_URL, auth_disabled=True)


def test_authentication_on_without_trusted_clients_refuses_to_start(make_app):
    with pytest.raises(RuntimeError, match="No trusted CDS clients"):
        make_app(auth_disabled=False, public_base_url=BASE_URL)


def test_a_broken_trusted_clients_file_refuses_to_start(make_app, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("clients:\n  - iss: https://x.example\n    algorithms: [HS256]\n    jku: [https://x.example/j]\n")
    with pytest.raises(TrustedClientsError):
        make_app(auth_disabled=False, trusted_clients=str(broken), public_base_url=BASE_URL)


def test_production_starts_with_trusted_clients_and_an_https_public_url(secure_app, es384):
    app = secure_app(production=True)
    token = es384.token(NOW, tenant="tenant-a", aud=DISCOVERY_AUD)
    assert app.test_client().get("/cds-services", headers=bearer(token)).status_code == 200


def test_disabling_authentication_in_development_is_logged_loudly(make_app, capfd):
    client = make_app(auth_disabled=True).test_client()
    assert client.get("/cds-services").status_code == 200
    assert "CLIENT AUTHENTICATION IS DISABLED" in capfd.readouterr().err
