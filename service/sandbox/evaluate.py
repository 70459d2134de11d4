"""``evaluate FILE``: a hook request, or a patient Bundle, through the real service in-process; the cards out.

A patient Bundle (a sandbox file, a FHIR server export, a searchset) becomes a hook request whose prefetch holds
every resource of the Bundle, so the service decides on exactly that record and fetches nothing. Sandbox Bundles
get their dates made current first, as ``load-sandbox`` would.
"""

from __future__ import annotations

import json
import os
import textwrap
import uuid
from datetime import date
from pathlib import Path

from flask import Flask

from .data import ORDER_HOOKS, Manifest, ManifestError, materialise, read_json, resources_of, utc_today


class EvaluateError(ValueError):
    """The input cannot be turned into a hook request; the message says what to add."""


def in_process_app() -> Flask:
    """The service with the repository's knowledge, no client authentication, an in-memory database."""
    from ..app import create_app
    from ..settings import Settings
    return create_app(Settings(auth_disabled=True, database_url="sqlite://", log_level="ERROR",
                               site_knowledge=os.environ.get("SITE_KNOWLEDGE") or None))


def hook_request_for(document: dict, *, hook: str | None, orders: dict | None, manifest: Manifest | None,
                     discovery: list[dict], today: date) -> tuple[str, dict]:
    """(service id, hook request) for a hook request document, or for a patient Bundle."""
    if "hook" in document:
        return _service_for(discovery, document["hook"]), document
    if document.get("resourceType") != "Bundle":
        raise EvaluateError("FILE must be a CDS Hooks request (with 'hook') or a FHIR Bundle of one patient's record")
    resources = resources_of(materialise(document, today))
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise EvaluateError(f"the Bundle holds {len(patients)} Patient resources; exactly one is needed")
    patient_id = patients[0].get("id")
    hook = hook or ("order-sign" if orders is not None else "patient-view")
    context: dict = {"userId": "Practitioner/evaluate-cli", "patientId": patient_id}
    if hook in ORDER_HOOKS:
        drafts = resources_of(materialise(orders, today)) if orders is not None else _manifest_orders(
            manifest, patient_id, today)
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": r} for r in drafts]}
        if hook == "order-select":
            context["selections"] = [f"{r['resourceType']}/{r['id']}" for r in drafts[:1]]
    service_id = _service_for(discovery, hook)
    definition = next(s for s in discovery if s["id"] == service_id and s["hook"] == hook)
    record = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": r} for r in resources if r is not patients[0]]}
    prefetch = {key: (patients[0] if key == "patient" else record) for key in definition.get("prefetch") or {}}
    return service_id, {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": prefetch}


def _service_for(discovery: list[dict], hook: str) -> str:
    for service in discovery:
        if service.get("hook") == hook:
            return service["id"]
    raise EvaluateError(f"no service of this CDS service answers the {hook!r} hook")


def _manifest_orders(manifest: Manifest | None, patient_id: str, today: date) -> list[dict]:
    entry = manifest.patient(patient_id) if manifest is not None else None
    if entry is None or entry.orders_path is None:
        raise EvaluateError("an order hook needs draft orders: pass --orders FILE (a Bundle of MedicationRequests)")
    return resources_of(materialise(read_json(entry.orders_path), today))


def evaluate(path: Path, *, hook: str | None = None, orders_path: Path | None = None,
             manifest: Manifest | None = None, app: Flask | None = None, today: date | None = None) -> dict:
    """The service's answer (HTTP status and body) to the request made from ``path``.

    :raise EvaluateError: when the file cannot become a hook request.
    """
    try:
        document = read_json(path)
        orders = read_json(orders_path) if orders_path else None
    except ManifestError as exc:
        raise EvaluateError(str(exc)) from exc
    app = app or in_process_app()
    client = app.test_client()
    discovery = client.get("/cds-services").get_json()["services"]
    service_id, body = hook_request_for(document, hook=hook, orders=orders, manifest=manifest, discovery=discovery,
                                        today=today or utc_today())
    answer = client.post(f"/cds-services/{service_id}", json=body)
    return {"service": service_id, "hook": body.get("hook"), "status": answer.status_code,
            "body": answer.get_json(silent=True)}


_MARK = {"info": "INFO", "warning": "WARNING", "critical": "CRITICAL"}


def render_text(result: dict, width: int = 100) -> str:
    """Cards as a clinician would read them, in a terminal: indicator, summary, detail, actions, links."""
    body = result.get("body") or {}
    if result.get("status") != 200:
        issues = "; ".join(str(i.get("diagnostics")) for i in body.get("issue") or ())
        return f"{result['hook']} -> {result['service']}: HTTP {result['status']} {issues}".rstrip()
    cards = body.get("cards") or []
    lines = [f"{result['hook']} -> {result['service']}: {len(cards)} card{'s' if len(cards) != 1 else ''}"]
    for card in cards:
        lines += ["", f"[{_MARK.get(card.get('indicator'), card.get('indicator'))}] {card.get('summary')}"]
        source = card.get("source") or {}
        lines.append(f"  source: {source.get('label')}" + (f" <{source['url']}>" if source.get("url") else ""))
        lines += _wrapped(str(card.get("detail") or ""), width)
        for suggestion in card.get("suggestions") or ():
            actions = ", ".join(f"{a.get('type')} {(a.get('resource') or {}).get('resourceType', '')}".strip()
                                for a in suggestion.get("actions") or ())
            lines.append(f"  suggestion: {suggestion.get('label')}" + (f" ({actions})" if actions else ""))
        lines += [f"  link: {link.get('label')} <{link.get('url')}>" for link in card.get("links") or ()]
        reasons = [r.get("display") or r.get("code") for r in card.get("overrideReasons") or ()]
        if reasons:
            lines.append("  override reasons: " + "; ".join(reasons))
    return "\n".join(lines)


def _wrapped(markdown: str, width: int) -> list[str]:
    """Paragraphs wrapped to the terminal; table rows and URLs are never broken."""
    lines = []
    for paragraph in markdown.splitlines():
        if paragraph.lstrip().startswith("|"):
            lines.append(f"  {paragraph}")
            continue
        lines += textwrap.wrap(paragraph, width, initial_indent="  ", subsequent_indent="    ",
                               break_long_words=False, break_on_hyphens=False) or [""]
    return lines


def render_json(result: dict) -> str:
    return json.dumps(result.get("body"), indent=2, ensure_ascii=False)
