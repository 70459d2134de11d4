"""A toy "hello patient" CDS service built on the ``cds_hooks`` toolkit alone: the subject of the protocol tests.

It knows no drug. ``hello-patient`` (patient-view) greets the patient whose chart is open; ``order-echo`` is one
id registered for order-select and order-sign with a different handler for each, so that dispatch on the body's
``hook`` is visible in the answer. Every call's ``HookRequest`` and ``Prefetched`` are kept in ``seen`` so a test
can assert exactly what the fulfiller produced. Nothing here imports ``service``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import requests
from flask import Flask

from cds_hooks import (Action, ActionType, Card, Coding, FhirClient, FhirLimits, HookRequest, HookResponse,
                       Indicator, Link, Prefetched, PrefetchFulfiller, SelectionBehavior, ServiceRegistry, Source,
                       Suggestion, UrlPolicy)
from cds_hooks.blueprint import EdgeSettings, create_blueprint
from cds_hooks.storage import Store

FHIR_BASE = "https://ehr.example.org/fhir"
ACCESS_TOKEN = "toy-access-token-7f3c9a1e"
PUBLIC_BASE = "https://cds.example.org"
SOURCE = Source(label="Toy greeter", url="https://example.org/toy")
OVERRIDE = Coding("https://example.org/toy/override", "not-now", "Not now")

HELLO_PREFETCH = {
    "patientToGreet": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}&_sort=-recorded-date",
    "user": "Practitioner/{{userPractitionerId}}",
}


@dataclass
class Toy:
    app: Flask
    store: Store
    registry: ServiceRegistry
    seen: list[tuple[HookRequest, Prefetched]] = field(default_factory=list)
    identities: list[Any] = field(default_factory=list)   # what the client factory was given


def _given_name(patient: dict | None) -> str:
    for name in (patient or {}).get("name") or ():
        if isinstance(name, dict) and name.get("given"):
            return str(name["given"][0])
    return "patient"


def _count(data: Prefetched, key: str, kind: str) -> int:
    bundle = data[key]
    if not isinstance(bundle, dict):
        return 0
    return sum(1 for e in bundle.get("entry") or () if (e.get("resource") or {}).get("resourceType") == kind)


def _drafts(request: HookRequest) -> list[dict]:
    return [e["resource"] for e in request.context["draftOrders"].get("entry") or () if "resource" in e]


def _register(registry: ServiceRegistry, seen: list) -> None:
    @registry.service(id="hello-patient", hook="patient-view", title="Hello patient",
                      description="Greets the patient whose chart is open.", prefetch=HELLO_PREFETCH,
                      usage_requirements="Needs the Patient, by prefetch or FHIR access.",
                      required_prefetch=frozenset({"patientToGreet"}))
    def hello(request: HookRequest, data: Prefetched) -> HookResponse:
        seen.append((request, data))
        detail = f"{_count(data, 'conditions', 'Condition')} condition(s) on file."
        if data.failures:
            detail += " Could not read: " + ", ".join(sorted(data.failures)) + "."
        return HookResponse(cards=(Card(summary=f"Hello {_given_name(data['patientToGreet'])}!",
                                        indicator=Indicator.INFO, source=SOURCE, detail=detail),))

    def echo(request: HookRequest, data: Prefetched) -> HookResponse:
        seen.append((request, data))
        orders = _drafts(request)
        if not orders:
            return HookResponse()
        suggestions = tuple(Suggestion(label=f"Remove {o.get('resourceType')}", actions=(Action(
            ActionType.DELETE, "Remove this draft order", resource_id=f"{o.get('resourceType')}/{o.get('id')}"),))
            for o in orders)
        return HookResponse(cards=(Card(
            summary=f"{request.hook}: {len(orders)} draft order(s)", indicator=Indicator.WARNING, source=SOURCE,
            suggestions=suggestions, selection_behavior=SelectionBehavior.ANY, override_reasons=(OVERRIDE,),
            links=(Link("Toy documentation", "https://example.org/toy/docs"),)),))

    for hook in ("order-select", "order-sign"):
        registry.service(id="order-echo", hook=hook, title="Order echo", description="Echoes the draft orders.",
                         prefetch={"patient": "Patient/{{context.patientId}}"},
                         required_prefetch=frozenset({"patient"}))(echo)


def make_toy(database_url: str, *, deadline_s: float = 0.5, limits: FhirLimits = FhirLimits(0.5, 3, 1_000_000),
             policy: UrlPolicy = UrlPolicy(allow_http=True, allow_private=True), max_body_bytes: int = 64_000,
             authenticate: Callable | None = None, handler_error: Exception | None = None) -> Toy:
    """The toy app. ``handler_error`` adds a ``broken`` service that raises it (the unexpected-error path)."""
    registry, seen, identities = ServiceRegistry(), [], []
    _register(registry, seen)
    if handler_error is not None:
        registry.service(id="broken", hook="patient-view", description="Raises while deciding.",
                         prefetch={"patient": "Patient/{{context.patientId}}"})(_raiser(handler_error))
    session = requests.Session()

    def client_for(request: HookRequest, deadline: float, identity: Any = None) -> FhirClient:
        identities.append(identity)
        policy.check(request.fhir_server)
        token = request.fhir_authorization.access_token if request.fhir_authorization else None
        return FhirClient(request.fhir_server, token, session, limits, deadline)

    store = Store(database_url)
    fulfiller = PrefetchFulfiller(ThreadPoolExecutor(max_workers=8), client_for, deadline_s)
    app = Flask("toy")
    app.config["CDS_EDGE"] = EdgeSettings(PUBLIC_BASE, max_body_bytes, "toy-1")
    app.register_blueprint(create_blueprint(registry, fulfiller, feedback=store, audit=store,
                                            authenticate=authenticate))
    return Toy(app, store, registry, seen, identities)


def _raiser(error: Exception):
    def handler(request: HookRequest, data: Prefetched) -> HookResponse:
        raise error
    return handler
