"""Prefetch templates: STU2 tokens render from the request; values are encoded so an id cannot rewrite a query."""

from __future__ import annotations

import pytest

from cds_hooks import HookRequest, TemplateError, render_template
from cds_hooks.prefetch import draft_medication_reads


def _request(**context) -> HookRequest:
    return HookRequest(hook="patient-view", hook_instance="h1",
                       context={"userId": "Practitioner/u1", "patientId": "p1", **context})


def test_context_tokens_and_user_identifiers_render_from_the_request():
    request = _request(encounterId="e9")

    assert render_template("Encounter/{{context.encounterId}}", request) == "Encounter/e9"
    assert render_template("Observation?patient={{context.patientId}}&code=4548-4", request) == \
        "Observation?patient=p1&code=4548-4"
    assert render_template("Practitioner/{{userPractitionerId}}", request) == "Practitioner/u1"
    assert render_template("{{context.userId}}", request) == "Practitioner/u1", "a whole reference is kept"


def test_a_user_token_for_another_kind_of_user_cannot_be_rendered():
    with pytest.raises(TemplateError, match="does not match userId"):
        render_template("PractitionerRole?_id={{userPractitionerRoleId}}", _request())


def test_a_token_for_a_missing_or_non_primitive_context_field_names_what_was_available():
    request = _request(draftOrders={"resourceType": "Bundle"})

    with pytest.raises(TemplateError, match="available: patientId, userId"):
        render_template("Encounter/{{context.encounterId}}", request)
    with pytest.raises(TemplateError):
        render_template("X?y={{context.draftOrders}}", request)


def test_an_id_carrying_query_syntax_is_percent_encoded_and_cannot_add_parameters():
    rendered = render_template("Condition?patient={{context.patientId}}", _request(patientId="p1&_count=1000"))

    assert rendered == "Condition?patient=p1%26_count%3D1000"


def test_an_id_that_climbs_the_path_is_refused():
    with pytest.raises(TemplateError, match="not a FHIR id"):
        render_template("Patient/{{context.patientId}}", _request(patientId="../Practitioner/x"))


def test_long_ids_with_dots_and_dashes_are_rendered_unchanged():
    long_id = "eXoGxqgBaJuNkuahMYmiDhg3." + "a-b_c" * 40

    assert render_template("Patient/{{context.patientId}}", _request(patientId=long_id)) == f"Patient/{long_id}"


def test_a_template_without_tokens_renders_as_written():
    assert render_template("Medication?code=1942954", _request()) == "Medication?code=1942954"


def _order_request(*orders: dict, fhir_server: str | None = "https://ehr.example.org/fhir") -> HookRequest:
    return HookRequest(hook="order-sign", hook_instance="h1", fhir_server=fhir_server, context={
        "userId": "Practitioner/u1", "patientId": "p1",
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": o} for o in orders]}})


def _by_reference(reference: str, order_id: str = "mr") -> dict:
    return {"resourceType": "MedicationRequest", "id": order_id, "medicationReference": {"reference": reference}}


def test_draft_orders_medication_references_become_reads_named_without_ids():
    request = _order_request(_by_reference("Medication/m1", "a"), _by_reference("Medication/m1", "b"),
                             _by_reference("https://ehr.example.org/fhir/Medication/m2", "c"))

    assert draft_medication_reads(request) == {"draftOrders.medication[0]": "Medication/m1",
                                               "draftOrders.medication[1]": "Medication/m2"}


def test_references_the_bundle_answers_itself_or_that_point_elsewhere_are_not_read():
    carried = {"resourceType": "Medication", "id": "m1"}
    request = _order_request(_by_reference("Medication/m1"), carried, _by_reference("#contained"),
                             _by_reference("https://other.example.net/fhir/Medication/m3"),
                             _by_reference("Medication/../Patient/p1"), _by_reference("Substance/s1"),
                             {"resourceType": "ServiceRequest", "id": "s", "medicationReference": {
                                 "reference": "Medication/m4"}})

    assert draft_medication_reads(request) == {}
