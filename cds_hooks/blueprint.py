"""The HTTP edge: discovery, hook calls and feedback as a Flask blueprint. Views stay a few lines each.

Flask is imported here and nowhere else in the toolkit. Every error leaves as JSON with an OperationOutcome
body and the status its class carries; nothing leaves with a stack trace.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from flask import Blueprint, Response, current_app, g, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from .errors import (BadRequest, CdsHooksError, MethodNotAllowed, NotFound, PayloadTooLarge, UnsupportedMediaType)
from .gate import CpuGate
from .models import HookRequest, HookResponse
from .prefetch import PrefetchFulfiller
from .registry import ServiceRegistry
from .schemas import load_feedback, load_hook_request

log = logging.getLogger("cds_hooks")


class Authenticator(Protocol):
    def __call__(self, authorization: str | None, audience: str) -> Any:
        """Verify the client's JWT for ``audience``; return an identity (with ``issuer``/``tenant``) or raise."""


class FeedbackSink(Protocol):
    def add_feedback(self, service_id: str, items: list[dict]) -> int: ...


class AuditSink(Protocol):
    def add_audit(self, **record: Any) -> None: ...


@dataclass
class EdgeSettings:
    public_base_url: str | None = None   # what JWT `aud` must name; never taken from the Host header
    max_body_bytes: int = 5_000_000
    knowledge_version: str | None = None


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json")


def _error(exc: CdsHooksError) -> Response:
    response = _json(exc.operation_outcome(), exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _read_json() -> Any:
    """:raise UnsupportedMediaType, PayloadTooLarge, BadRequest:"""
    return _decode(_read_body())


def _read_body() -> bytes:
    """:raise UnsupportedMediaType, PayloadTooLarge:"""
    mimetype = (request.mimetype or "").lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("Content-Type must be application/json")
    limit = current_app.config["CDS_EDGE"].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    if request.content_length is not None:
        raw = _read_exactly(request.input_stream, request.content_length)
    else:
        raw = request.stream.read(limit + 1)  # bounded even when no Content-Length was sent (chunked)
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    return raw


def _decode(raw: bytes) -> Any:
    """:raise BadRequest:"""
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise BadRequest("Request body is not valid JSON") from exc


def _read_exactly(stream, length: int) -> bytes:
    """The body of a known, already checked length, read from the WSGI input in as few calls as it allows.

    PEP 3333 lets an application read ``CONTENT_LENGTH`` bytes from ``wsgi.input``. Going through werkzeug's
    size-limiting stream instead copies a multi-MB body 64 KiB at a time (measured in bench/RESULTS.md).
    :raise BadRequest: when the client goes away before sending it all (a reset, or fewer bytes than declared).
    """
    chunks, remaining = [], length
    try:
        while remaining > 0:
            chunk = stream.read(remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except (OSError, ValueError) as exc:
        raise BadRequest("Request body could not be read: the client went away") from exc
    if remaining > 0:
        raise BadRequest(f"Request body ended {remaining} bytes short of its Content-Length")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def _validation_message(exc: ValidationError) -> tuple[str, list[str]]:
    messages = exc.normalized_messages()
    if isinstance(messages, dict):
        paths = sorted(str(k) for k in messages if k != "_schema")
        return f"Invalid request: {json.dumps(messages, sort_keys=True)}", paths
    return f"Invalid request: {messages}", []


def create_blueprint(registry: ServiceRegistry, fulfiller: PrefetchFulfiller, *,
                     feedback: FeedbackSink, audit: AuditSink | None = None,
                     authenticate: Authenticator | None = None,
                     on_response: Callable[[HookRequest, HookResponse], None] | None = None) -> Blueprint:
    bp = Blueprint("cds_hooks", __name__)
    gate = CpuGate()

    def audience(path: str) -> str:
        base = current_app.config["CDS_EDGE"].public_base_url or request.host_url
        return base.rstrip("/") + path

    @bp.before_request
    def _authenticate():
        g.cds_identity = None
        if request.method == "OPTIONS" or authenticate is None:
            return None  # CORS preflight is answered before authentication (it carries no JWT)
        g.cds_identity = authenticate(request.headers.get("Authorization"), audience(request.path))
        return None

    @bp.get("/cds-services")
    def discovery():
        return _json(registry.discovery())

    @bp.post("/cds-services/<service_id>")
    def call(service_id: str):
        started = time.perf_counter()
        raw = _read_body()
        with gate.held():  # the CPU-bound steps as one section; prefetch fetches release it (gate.py)
            hook_request, service = _parse_call(service_id, _decode(raw))
            del raw
            if service.applies is not None and not service.applies(hook_request):
                result, prefetched, fetched_at = HookResponse(outcome="not-applicable"), None, started
                body_out = {"cards": []}
            else:
                prefetched = fulfiller.fulfil(hook_request, service.definition, g.get("cds_identity"),
                                              waiting=gate.released)
                fetched_at = time.perf_counter()
                result = service.handler(hook_request, prefetched)
                body_out = result.to_json()
                if on_response is not None:
                    on_response(hook_request, result)
        _record(hook_request, service_id, result, prefetched, started, fetched_at)
        return _json(body_out)

    def _parse_call(service_id: str, body: Any):
        if service_id not in registry.ids():
            raise NotFound(f"No CDS service with id {service_id!r}")
        try:
            hook_request = load_hook_request(body)
        except ValidationError as exc:
            message, paths = _validation_message(exc)
            raise BadRequest(message, expression=paths) from exc
        service = registry.resolve(service_id, hook_request.hook)
        g.cds_event = {"hookInstance": hook_request.hook_instance, "service": service_id, "hook": hook_request.hook}
        return hook_request, service

    def _record(hook_request, service_id, result, prefetched, started, fetched_at):
        finished = time.perf_counter()
        identity = g.get("cds_identity")
        event = {**g.cds_event, "outcome": result.outcome or ("cards" if result.cards else "no-cards"),
                 "cards": len(result.cards), "indicators": [c.indicator.value for c in result.cards],
                 **_prefetch_fields(hook_request, prefetched),
                 "ms": {"prefetch": round((fetched_at - started) * 1000, 2),
                        "decide": round((finished - fetched_at) * 1000, 2),
                        "total": round((finished - started) * 1000, 2)},
                 **(result.log_fields or {})}
        if identity is not None:
            event["issuer"], event["tenant"] = getattr(identity, "issuer", None), getattr(identity, "tenant", None)
        log.info("hook call", extra={"event": event})
        if audit is not None:
            audit.add_audit(hook_instance=hook_request.hook_instance, service_id=service_id, hook=hook_request.hook,
                            outcome=event["outcome"], card_uuids=[c.uuid for c in result.cards],
                            knowledge_version=current_app.config["CDS_EDGE"].knowledge_version,
                            duration_ms=event["ms"]["total"], issuer=event.get("issuer"), tenant=event.get("tenant"))

    def _prefetch_fields(hook_request, prefetched) -> dict:
        if prefetched is None:
            return {}
        return {"prefetchSupplied": sorted(set(hook_request.prefetch) & set(prefetched.values) - prefetched.fetched),
                "prefetchFetched": sorted(prefetched.fetched), "prefetchFailed": sorted(prefetched.failures)}

    @bp.post("/cds-services/<service_id>/feedback")
    def feedback_view(service_id: str):
        body = _read_json()
        if service_id not in registry.ids():
            raise NotFound(f"No CDS service with id {service_id!r}")
        try:
            items = load_feedback(body)
        except ValidationError as exc:
            message, paths = _validation_message(exc)
            raise BadRequest(message, expression=paths) from exc
        stored = feedback.add_feedback(service_id, items)
        log.info("feedback", extra={"event": {"service": service_id, "items": len(items), "stored": stored}})
        return _json({"received": len(items), "stored": stored})

    @bp.app_errorhandler(CdsHooksError)
    def _cds_error(exc: CdsHooksError):
        event = {**(g.get("cds_event") or {}), "status": exc.status, "error": type(exc).__name__}
        log.info("refused", extra={"event": event})
        return _error(exc)

    @bp.app_errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        mapped = {404: NotFound("Not found"), 405: MethodNotAllowed("Method not allowed"),
                  413: PayloadTooLarge("Request body too large")}.get(exc.code or 500)
        if mapped is None:
            mapped = CdsHooksError(exc.description or "Error")
            mapped.status = exc.code or 500
        response = _error(mapped)
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # RFC 9110: a 405 names what is allowed
        return response

    @bp.app_errorhandler(Exception)
    def _unexpected(exc: Exception):
        # Only the type and the code locations are logged: an exception message may quote patient data.
        where = [f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" for frame in traceback.extract_tb(exc.__traceback__)]
        log.error("unexpected error", extra={"event": {**(g.get("cds_event") or {}), "status": 500,
                                                       "error": type(exc).__name__, "where": where[-5:]}})
        return _error(CdsHooksError("Internal error"))

    return bp
