"""Baseline apps the service is measured against (issue 8).

- echo (the "floor"): a Flask app that json-decodes the hook request and answers ``{"cards": []}``; served by
  the same gunicorn config as the service (``gunicorn -c gunicorn.conf.py --pythonpath bench echo_app:app``).
- parse floor: the same, plus validating every FHIR resource in the body (prefetch values, Bundle entries,
  draftOrders) with fhir.resources R4B models: the work a FHIR-reading service cannot avoid.

Both answer ``/readyz`` like the service, so start-up is measured the same way.
"""

from __future__ import annotations

import json
from typing import Iterator

from flask import Flask, Response, request

_EMPTY = '{"cards":[]}'


def _ready() -> Response:
    return Response('{"status":"ready"}', mimetype="application/json")


def create_echo_app() -> Flask:
    app = Flask("bench-echo")

    @app.post("/cds-services/<service_id>")
    def call(service_id: str):
        json.loads(request.get_data(cache=False))
        return Response(_EMPTY, mimetype="application/json")

    app.get("/readyz")(_ready)
    return app


def resources_in(body: dict) -> Iterator[dict]:
    """Every FHIR resource a hook request carries: prefetch values, their Bundle entries, and draft orders."""
    values = list((body.get("prefetch") or {}).values())
    values += [v for v in (body.get("context") or {}).values() if isinstance(v, dict)]
    for value in values:
        if not isinstance(value, dict) or "resourceType" not in value:
            continue
        if value["resourceType"] == "Bundle":
            yield from (e["resource"] for e in value.get("entry") or () if isinstance(e.get("resource"), dict))
        else:
            yield value


def validate_all(body: dict) -> int:
    """Validate every resource with its fhir.resources R4B model; returns how many were validated."""
    from fhir.resources.R4B import get_fhir_model_class
    count = 0
    for resource in resources_in(body):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        count += 1
    return count


def create_parse_floor_app() -> Flask:
    app = Flask("bench-parse-floor")

    @app.post("/cds-services/<service_id>")
    def call(service_id: str):
        validate_all(json.loads(request.get_data(cache=False)))
        return Response(_EMPTY, mimetype="application/json")

    app.get("/readyz")(_ready)
    return app


app = create_echo_app()
