"""Configuration, read once from the environment (or a mapping in tests) into a frozen Settings object.

| variable | default | meaning |
|---|---|---|
| CDS_PRODUCTION | 0 | production mode: https-only FHIR, no private addresses, trusted clients required |
| DATABASE_URL | sqlite:///instance/cds.sqlite3 | feedback, audit and JWT replay cache (PostgreSQL URL in production) |
| SITE_KNOWLEDGE | (none) | path of the site's knowledge override YAML |
| CDS_PUBLIC_BASE_URL | (request host) | the public URL clients call; JWT `aud` is checked against it (https, required in production) |
| CDS_MAX_BODY_BYTES | 10000000 | larger hook requests get 413 |
| CDS_PREFETCH_DEADLINE_S | 0.4 | one deadline for all FHIR fetches of a request |
| CDS_FHIR_TIMEOUT_S | 0.4 | per FHIR HTTP call (also cut by the deadline) |
| CDS_FHIR_MAX_PAGES | 5 | Bundle next links followed per query |
| CDS_FHIR_MAX_BYTES | 20000000 | per FHIR response body |
| CDS_ALLOW_HTTP_FHIR | 1 outside production | accept an http fhirServer |
| CDS_ALLOW_PRIVATE_FHIR | 1 outside production | accept a loopback/private fhirServer address |
| CDS_AUTH_DISABLED | 0 | turn client JWT checks off (development only; logged loudly; refused in production) |
| CDS_TRUSTED_CLIENTS | (none) | YAML file of trusted CDS clients (iss, JWKS, tenants, FHIR hosts): docs/threat-model.md |
| CDS_JWT_LEEWAY_S | 60 | clock leeway for exp/iat/nbf |
| CDS_CORS_ORIGINS | (none) | comma-separated browser origins (`https://host[:port]`) allowed to call the service; `*` refused in production; never with credentials |
| CDS_AUDIT_RETENTION_DAYS | 365 | audit records older than this are purged at start-up and by `service.app.purge_expired_audit` (0: kept) |
| LOG_LEVEL | INFO | |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Mapping


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    production: bool = False
    database_url: str = "sqlite:///instance/cds.sqlite3"
    site_knowledge: str | None = None
    public_base_url: str | None = None
    max_body_bytes: int = 10_000_000
    prefetch_deadline_s: float = 0.4
    fhir_timeout_s: float = 0.4
    fhir_max_pages: int = 5
    fhir_max_bytes: int = 20_000_000
    allow_http_fhir: bool | None = None       # None: follows production mode
    allow_private_fhir: bool | None = None    # None: follows production mode
    auth_disabled: bool = False
    trusted_clients: str | None = None
    jwt_leeway_s: int = 60
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    audit_retention_days: int = 365
    log_level: str = "INFO"

    @property
    def http_fhir_allowed(self) -> bool:
        return (not self.production) if self.allow_http_fhir is None else self.allow_http_fhir

    @property
    def private_fhir_allowed(self) -> bool:
        return (not self.production) if self.allow_private_fhir is None else self.allow_private_fhir


_ENV = {
    "production": "CDS_PRODUCTION", "database_url": "DATABASE_URL", "site_knowledge": "SITE_KNOWLEDGE",
    "public_base_url": "CDS_PUBLIC_BASE_URL", "max_body_bytes": "CDS_MAX_BODY_BYTES",
    "prefetch_deadline_s": "CDS_PREFETCH_DEADLINE_S", "fhir_timeout_s": "CDS_FHIR_TIMEOUT_S",
    "fhir_max_pages": "CDS_FHIR_MAX_PAGES", "fhir_max_bytes": "CDS_FHIR_MAX_BYTES",
    "allow_http_fhir": "CDS_ALLOW_HTTP_FHIR", "allow_private_fhir": "CDS_ALLOW_PRIVATE_FHIR",
    "auth_disabled": "CDS_AUTH_DISABLED", "trusted_clients": "CDS_TRUSTED_CLIENTS",
    "jwt_leeway_s": "CDS_JWT_LEEWAY_S", "cors_origins": "CDS_CORS_ORIGINS",
    "audit_retention_days": "CDS_AUDIT_RETENTION_DAYS", "log_level": "LOG_LEVEL",
}


def settings_from(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from environment variables (``env`` defaults to os.environ), then keyword overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(_ENV[f.name])
        if raw is None or raw == "":
            continue
        kind = str(f.type)
        if "bool" in kind:
            values[f.name] = _bool(raw)
        elif kind.startswith("int"):
            values[f.name] = int(raw)
        elif kind.startswith("float"):
            values[f.name] = float(raw)
        elif "tuple" in kind:
            values[f.name] = tuple(item.strip() for item in raw.split(",") if item.strip())
        else:
            values[f.name] = raw
    values.update(overrides)
    return Settings(**values)
