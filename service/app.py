"""The app factory: settings, knowledge, storage, registry, prefetch, authentication and the blueprint."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests
from flask import Flask, Response, json
from flask_cors import CORS

from cds_hooks import (FhirClient, FhirLimits, FhirServerRefused, HookRequest, PrefetchFulfiller, ServiceRegistry,
                       UrlPolicy)
from cds_hooks.blueprint import EdgeSettings, create_blueprint
from cds_hooks.logs import configure_json_logging
from cds_hooks.storage import Store

from .knowledge import load_knowledge
from .services import register_services
from .settings import Settings, settings_from

log = logging.getLogger("service")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _store(settings: Settings) -> Store:
    url = settings.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return Store(url)


def _authenticator(settings: Settings, store: Store, clock: Callable[[], datetime] = _utcnow):
    """The JWT check the blueprint runs before every view, or None (development only, logged loudly).

    :raise RuntimeError: production without trusted clients or without an https public base URL (JWT ``aud``
        must be checked against a configured URL, never the request's Host header).
    """
    if settings.production and not (settings.public_base_url or "").startswith("https://"):
        raise RuntimeError("CDS_PUBLIC_BASE_URL (https) is required in production: JWT aud is checked against it")
    if settings.auth_disabled:
        if settings.production:
            raise RuntimeError("CDS_AUTH_DISABLED is refused in production mode")
        log.warning("CLIENT AUTHENTICATION IS DISABLED (CDS_AUTH_DISABLED=1): any caller can invoke these "
                    "services. Use this for local development only.", extra={"event": {"auth": "disabled"}})
        return None
    if not settings.trusted_clients:
        raise RuntimeError("No trusted CDS clients are configured: set CDS_TRUSTED_CLIENTS to a trusted-clients "
                           "file, or CDS_AUTH_DISABLED=1 for local development")
    from cds_hooks.auth import JwtAuthenticator, load_trusted_clients
    clients = load_trusted_clients(settings.trusted_clients)
    if not settings.public_base_url:
        log.warning("CDS_PUBLIC_BASE_URL is not set: JWT aud is checked against the request's Host header",
                    extra={"event": {"auth": "aud-from-host"}})
    log.info("client authentication on", extra={"event": {"auth": "jwt", "issuers": sorted(clients)}})
    return JwtAuthenticator(clients, replay=store, leeway_s=settings.jwt_leeway_s, clock=clock)


def _cors(app: Flask, settings: Settings) -> None:
    """Browser clients (the CDS Hooks sandbox): the preflight carries no JWT and is answered before
    authentication (the blueprint lets OPTIONS through); only configured origins get CORS headers; never
    credentials, so never ``*`` with credentials. ``*`` itself is refused in production.
    """
    origins = list(settings.cors_origins)
    if not origins:
        return
    for origin in origins:
        parts = urlsplit(origin)
        exact = parts.scheme in ("https", "http") and parts.netloc and not parts.path.strip("/") \
            and not set(origin) & set("*\\[]?$^()")
        if origin == "*" and settings.production:
            raise RuntimeError("CDS_CORS_ORIGINS=* is refused in production: list the browser origins")
        if origin != "*" and not exact:
            raise RuntimeError(f"CDS_CORS_ORIGINS entry {origin!r} is not an origin like https://host[:port]")
    CORS(app, resources={r"/cds-services(/.*)?$": {}}, origins=[o.rstrip("/") for o in origins],
         allow_headers=["Authorization", "Content-Type"], methods=["GET", "POST", "OPTIONS"],
         supports_credentials=False, always_send=False, max_age=600)


def purge_expired_audit(store: Store, retention_days: int, now: datetime | None = None) -> int:
    """Delete audit records older than the retention period (run at start-up; call it from any scheduler).

    :return: the number of records deleted.
    """
    deleted = store.purge_audit(timedelta(days=retention_days), now=now)
    log.info("audit retention", extra={"event": {"auditPurged": deleted, "retentionDays": retention_days}})
    return deleted


def _fhir_client_factory(settings: Settings, session: requests.Session, limits: FhirLimits):
    """FHIR access only where the calling client may send us: its allowlisted hosts, https in production,
    and no loopback/link-local/private address unless configured (the SSRF guard)."""
    allow_http = settings.http_fhir_allowed and not settings.production

    def client_for(request: HookRequest, deadline: float, identity=None) -> FhirClient:
        hosts = getattr(identity, "fhir_hosts", None)
        if identity is not None and not hosts:
            raise FhirServerRefused("this client has no FHIR server hosts configured")
        policy = UrlPolicy(allow_http=allow_http, allow_private=settings.private_fhir_allowed,
                           allowed_hosts=frozenset(hosts or ()))
        policy.check(request.fhir_server)
        token = request.fhir_authorization.access_token if request.fhir_authorization else None
        return FhirClient(request.fhir_server, token, session, limits, deadline)
    return client_for


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = _utcnow,
               session: requests.Session | None = None) -> Flask:
    """Build the app. :raise KnowledgeError: a broken knowledge base stops start-up."""
    settings = settings or settings_from()
    configure_json_logging(settings.log_level, production=settings.production)
    knowledge = load_knowledge(site_file=settings.site_knowledge)
    store = _store(settings)
    session = session or requests.Session()
    limits = FhirLimits(settings.fhir_timeout_s, settings.fhir_max_pages, settings.fhir_max_bytes)
    client_for = _fhir_client_factory(settings, session, limits)
    if settings.audit_retention_days > 0:
        purge_expired_audit(store, settings.audit_retention_days)

    registry = ServiceRegistry()
    register_services(registry, knowledge, clock)
    fulfiller = PrefetchFulfiller(ThreadPoolExecutor(max_workers=16, thread_name_prefix="prefetch"), client_for,
                                  settings.prefetch_deadline_s)

    app = Flask(__name__)
    app.config["CDS_EDGE"] = EdgeSettings(settings.public_base_url, settings.max_body_bytes, knowledge.version)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["inotuzumab"] = {"settings": settings, "knowledge": knowledge, "store": store,
                                    "registry": registry}
    app.register_blueprint(create_blueprint(registry, fulfiller, feedback=store, audit=store,
                                            authenticate=_authenticator(settings, store, clock)))
    _cors(app, settings)

    @app.get("/healthz")
    def healthz():
        return Response('{"status":"ok"}', mimetype="application/json")

    @app.get("/readyz")
    def readyz():
        ready = store.ping()
        body = {"status": "ready" if ready else "not-ready", "knowledgeVersion": knowledge.version,
                "database": "ok" if ready else "unreachable"}
        return Response(json.dumps(body), status=200 if ready else 503, mimetype="application/json")

    log.info("started", extra={"event": {"knowledgeVersion": knowledge.version, "site": knowledge.site,
                                         "production": settings.production}})
    return app
