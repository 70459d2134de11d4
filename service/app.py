"""The app factory: settings, knowledge, storage, registry, prefetch, authentication and the blueprint."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import requests
from flask import Flask, Response, json

from cds_hooks import FhirClient, FhirLimits, HookRequest, PrefetchFulfiller, ServiceRegistry, UrlPolicy
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


def _authenticator(settings: Settings, store: Store):
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
    return JwtAuthenticator(load_trusted_clients(settings.trusted_clients), replay=store,
                            leeway_s=settings.jwt_leeway_s)


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = _utcnow,
               session: requests.Session | None = None) -> Flask:
    """Build the app. :raise KnowledgeError: a broken knowledge base stops start-up."""
    settings = settings or settings_from()
    configure_json_logging(settings.log_level)
    knowledge = load_knowledge(site_file=settings.site_knowledge)
    store = _store(settings)
    session = session or requests.Session()
    policy = UrlPolicy(allow_http=settings.http_fhir_allowed, allow_private=settings.private_fhir_allowed)
    limits = FhirLimits(settings.fhir_timeout_s, settings.fhir_max_pages, settings.fhir_max_bytes)

    def client_for(request: HookRequest, deadline: float, identity=None) -> FhirClient:
        policy.check(request.fhir_server)
        token = request.fhir_authorization.access_token if request.fhir_authorization else None
        return FhirClient(request.fhir_server, token, session, limits, deadline)

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
                                            authenticate=_authenticator(settings, store)))

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
