"""Discovery: GET /cds-services lists every (id, hook) once, in a fixed order, with STU2-only prefetch templates."""

from __future__ import annotations

import re

import pytest

from cds_hooks import ServiceDefinition, ServiceRegistry, TemplateError
from service.services import ORDER_SERVICE_ID, SCREENING_SERVICE_ID

STU2_TOKEN = re.compile(r"^(context\.[A-Za-z_][A-Za-z0-9_]*|userPractitionerId|userPractitionerRoleId|userPatientId"
                        r"|userRelatedPersonId)$")


def _tokens(template: str) -> list[str]:
    return re.findall(r"\{\{\s*(.*?)\s*\}\}", template)


def test_the_toy_discovery_lists_each_id_and_hook_with_its_declared_fields(toy_client):
    services = toy_client.get("/cds-services").json["services"]

    assert [(s["id"], s["hook"]) for s in services] == [
        ("hello-patient", "patient-view"), ("order-echo", "order-select"), ("order-echo", "order-sign")]
    hello = services[0]
    assert hello == {"hook": "patient-view", "title": "Hello patient", "id": "hello-patient",
                     "description": "Greets the patient whose chart is open.",
                     "usageRequirements": "Needs the Patient, by prefetch or FHIR access.",
                     "prefetch": {"patientToGreet": "Patient/{{context.patientId}}",
                                  "conditions": "Condition?patient={{context.patientId}}&_sort=-recorded-date",
                                  "user": "Practitioner/{{userPractitionerId}}"}}
    assert "usageRequirements" not in services[1], "an optional field without a value is omitted"


def test_discovery_of_an_empty_registry_is_an_empty_services_array():
    assert ServiceRegistry().discovery() == {"services": []}


def test_discovery_is_byte_for_byte_the_same_across_calls_and_app_instances(make_app):
    first, second = make_app().test_client(), make_app().test_client()

    bodies = {first.get("/cds-services").data, first.get("/cds-services").data, second.get("/cds-services").data}

    assert len(bodies) == 1


def test_the_real_app_registers_one_id_for_order_select_and_order_sign_and_one_for_patient_view(client):
    services = client.get("/cds-services").json["services"]

    assert [(s["id"], s["hook"]) for s in services] == [
        (ORDER_SERVICE_ID, "order-select"), (ORDER_SERVICE_ID, "order-sign"), (SCREENING_SERVICE_ID, "patient-view")]
    for service in services:
        assert service["title"] and service["description"] and service["usageRequirements"]
        assert "patient" in service["prefetch"]
    select, sign = services[0], services[1]
    assert select["prefetch"] == sign["prefetch"], "order-sign replaces order-select guidance on the same data"


def test_every_real_prefetch_template_uses_only_stu2_tokens_and_narrows_searches_by_patient_and_code(client):
    for service in client.get("/cds-services").json["services"]:
        for key, template in service["prefetch"].items():
            tokens = _tokens(template)
            assert tokens and all(STU2_TOKEN.match(t) for t in tokens), (key, template)
            assert "{{" not in re.sub(r"\{\{.*?\}\}", "", template), "no stray delimiters"
            if "?" in template:
                assert "patient={{context.patientId}}" in template and "&code=" in template, (key, template)


def test_real_templates_keep_to_the_specs_recommended_query_subset(client):
    from urllib.parse import parse_qsl
    allowed = {"patient", "code", "status", "category", "_sort", "_count", "date", "_id"}
    for service in client.get("/cds-services").json["services"]:
        for key, template in service["prefetch"].items():
            path, _, query = template.partition("?")
            assert re.fullmatch(r"[A-Z][A-Za-z]+(/\{\{context\.patientId\}\})?", path), (key, path)
            for name, value in parse_qsl(query):
                base, _, modifier = name.partition(":")
                assert base in allowed and modifier in ("", "in"), (key, name)
                if base == "date":
                    assert re.match(r"(eq|lt|gt|ge|le)", value), (key, value)


def test_real_observation_templates_ask_for_the_newest_first(client):
    for service in client.get("/cds-services").json["services"]:
        for key, template in service["prefetch"].items():
            if template.startswith("Observation?"):
                assert template.endswith("&_sort=-date"), key


@pytest.mark.parametrize("template", [
    "Observation?patient={{context.patientId}}&date=gt{{today() - 90 days}}",
    "MedicationRequest?_id={{context.draftOrders.entry.resource.id}}",
    "Patient/{{Patient.id}}",
    "Patient/{{context.patientId}",
])
def test_registering_a_template_a_cds_hooks_2_client_cannot_render_is_refused(template):
    registry = ServiceRegistry()

    with pytest.raises(TemplateError):
        registry.add(ServiceDefinition(id="x", hook="patient-view", description="d", prefetch={"k": template}),
                     lambda request, data: None)


def test_registering_a_required_key_that_is_not_a_prefetch_key_is_refused():
    with pytest.raises(ValueError, match="not prefetch keys"):
        ServiceRegistry().add(ServiceDefinition(id="x", hook="patient-view", description="d",
                                                prefetch={"patient": "Patient/{{context.patientId}}"},
                                                required_prefetch=frozenset({"pt"})), lambda request, data: None)


def test_registering_the_same_id_and_hook_twice_is_refused():
    registry = ServiceRegistry()
    definition = ServiceDefinition(id="x", hook="patient-view", description="d")
    registry.add(definition, lambda request, data: None)

    with pytest.raises(ValueError, match="already registered"):
        registry.add(definition, lambda request, data: None)
