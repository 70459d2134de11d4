"""Request builders and assertions shared by the protocol tests (toy service and real app)."""

from __future__ import annotations

import uuid

from cds_hooks import validate_response
from tests.cds_hooks.toy import ACCESS_TOKEN, FHIR_BASE

AUTHORIZATION = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 30,
                 "scope": "user/Patient.read user/Condition.read", "subject": "toy-cds-service"}


def toy_patient(patient_id: str = "p1", given: str = "Alex") -> dict:
    return {"resourceType": "Patient", "id": patient_id, "name": [{"family": "Testperson", "given": [given]}]}


def toy_condition(cond_id: str, patient_id: str = "p1") -> dict:
    return {"resourceType": "Condition", "id": cond_id, "subject": {"reference": f"Patient/{patient_id}"},
            "code": {"text": "a synthetic condition"}}


def hello_request(prefetch: dict | None = None, *, fhir: bool = True, patient_id: str = "p1",
                  user: str = "Practitioner/u1", **extra) -> dict:
    """A patient-view call for the toy; with the FHIR server and token unless ``fhir=False``."""
    body: dict = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                  "context": {"userId": user, "patientId": patient_id}}
    if fhir:
        body |= {"fhirServer": FHIR_BASE, "fhirAuthorization": dict(AUTHORIZATION)}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body | extra


def order_request(hook: str = "order-sign", orders: list[dict] | None = None, **extra) -> dict:
    orders = orders if orders is not None else [{"resourceType": "MedicationRequest", "id": "mr1", "status": "draft",
                                                 "intent": "order", "subject": {"reference": "Patient/p1"}}]
    context: dict = {"userId": "Practitioner/u1", "patientId": "p1",
                     "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": o} for o in orders]}}
    if hook == "order-select":
        context["selections"] = [f"{o['resourceType']}/{o['id']}" for o in orders][:1]
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context,
            "prefetch": {"patient": toy_patient()}} | extra


def ok_cards(response) -> list[dict]:
    """The cards of a 200 answer, after checking the answer against every CDS Hooks 2.0 response rule."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert validate_response(response.json) == []
    return response.json["cards"]


def outcome(response, status: int) -> dict:
    """The single OperationOutcome issue of an error answer, after checking its shape and that no trace leaks."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and ".py" not in text
    body = response.json
    assert body["resourceType"] == "OperationOutcome" and len(body["issue"]) == 1
    issue = body["issue"][0]
    assert issue["severity"] == "error" and issue["code"] and issue["diagnostics"]
    return issue


def _card(**fields) -> dict:
    return {"summary": "A card", "indicator": "info", "source": {"label": "Toy"}, **fields}


# Each breaks one CDS Hooks 2.0 response rule: validate_response and openapi.yaml must both refuse every one.
INVALID_CARDS = [
    _card(detail=""), _card(detail=None), _card(links=[]), _card(suggestions=[]), _card(overrideReasons=[]),
    _card(indicator="hard-stop"), _card(indicator="success"), _card(source={}), _card(source={"label": ""}),
    _card(source={"label": "x", "url": "/relative"}), _card(summary="x" * 140), _card(summary=""),
    _card(suggestions=[{"label": "s"}]),
    _card(suggestions=[{"label": "s"}], selectionBehavior="all"),
    _card(suggestions=[{"label": "a", "isRecommended": True}, {"label": "b", "isRecommended": True}],
          selectionBehavior="at-most-one"),
    _card(suggestions=[{"label": "s", "actions": [{"type": "delete", "description": "d",
                                                   "resource": {"resourceType": "X"}}]}], selectionBehavior="any"),
    _card(suggestions=[{"label": "s", "actions": [{"type": "create", "description": "d"}]}], selectionBehavior="any"),
    _card(suggestions=[{"label": "s", "actions": [{"type": "CREATE", "description": "d",
                                                   "resource": {"resourceType": "X"}}]}], selectionBehavior="any"),
    _card(suggestions=[{"label": "s", "actions": [{"type": "update", "resource": {"resourceType": "X"}}]}],
          selectionBehavior="any"),
    _card(overrideReasons=[{"system": "s", "code": "c"}]),
    _card(links=[{"label": "l", "url": "https://x.org", "type": "absolute", "appContext": "{}"}]),
    _card(links=[{"label": "l", "url": "https://x.org", "type": "web"}]),
    _card(links=[{"label": "l", "url": "https://x.org"}]),
    _card(links=[{"label": "l", "url": "https://x.org", "type": "smart", "appContext": ""}]),
    _card(suggestions=[{"label": "s", "actions": [{"type": "delete", "description": "d", "resourceId": ""}]}],
          selectionBehavior="any"),
    _card(suggestions=[{"label": "s", "actions": [{"type": "delete", "description": "d"}]}], selectionBehavior="any"),
    _card(suggestions=[{"label": "s", "actions": [{"type": "create", "description": "d", "resource": {"id": "x"}}]}],
          selectionBehavior="any"),
    _card(suggestions=[{"label": "s", "isRecommended": "true"}], selectionBehavior="any"),
    _card(links=[{"label": "l", "url": "https://x.org", "type": "absolute", "autolaunchable": 1}]),
    _card(unknownField=1), _card(extension={}), _card(uuid=""),
    {"summary": "no indicator", "source": {"label": "x"}},
]
