"""The app starts, discovers its services and answers a hook call with valid CDS Hooks JSON."""

from cds_hooks import validate_response
from tests.builders import hook_request, medication_request, patient


def test_discovery_lists_both_services(client):
    services = client.get("/cds-services").json["services"]
    assert {(s["id"], s["hook"]) for s in services} == {
        ("inotuzumab-order-check", "order-select"), ("inotuzumab-order-check", "order-sign"),
        ("inotuzumab-patient-screening", "patient-view")}


def test_order_sign_answers_valid_cards(client):
    body = hook_request(orders=[medication_request()], prefetch={"patient": patient()})
    response = client.post("/cds-services/inotuzumab-order-check", json=body)
    assert response.status_code == 200
    assert validate_response(response.json) == []
    assert response.json["cards"], "an inotuzumab order always gets an eligibility card"


def test_authentication_is_on_unless_explicitly_disabled(tmp_path):
    """Should refuse to start with default settings and no trusted clients: checks are never off by accident."""
    import pytest

    from service.app import create_app
    from service.settings import Settings, settings_from

    assert settings_from({}).auth_disabled is False
    with pytest.raises(RuntimeError, match="No trusted CDS clients"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/cds.sqlite3"))
