"""CDS Client authentication: the signed JWT of spec 2.0.1 "Trusting CDS Clients", checked in full.

Every call (discovery, service, feedback) carries ``Authorization: Bearer <JWT>``. A token is accepted only if
1. its header says ``typ: JWT``, names a ``kid``, and an asymmetric ``alg`` the client is trusted to use
   (``none`` and every HMAC are refused before any key is looked at);
2. its ``iss`` is a configured trusted client, and its ``jku`` (if any) is on that client's allowlist;
3. the ``kid`` is in the client's JWK Set: a static set agreed out of band, or the set at an allowed ``jku``
   URL, fetched, cached, and fetched again once on an unknown ``kid`` (rate-limited, for key rotation);
4. the signature verifies with that key (PyJWT, with the algorithm pinned to the key);
5. ``aud`` (string or array) names exactly this endpoint's public URL, ``exp``/``iat`` (and ``nbf`` when
   present) hold with a small leeway, the lifetime is bounded, ``tenant`` is allowed when the client has a
   tenant allowlist, and ``jti`` was never seen before within the token's lifetime (replay cache shared by
   replicas through the database).
Any failure raises ``Unauthorized`` (a bare 401); the reason is logged as a structured event, never the token.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol
from urllib.parse import urlsplit

import jwt
import requests
import yaml

from .errors import Unauthorized

log = logging.getLogger("cds_hooks.auth")

ASYMMETRIC = frozenset({"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"})
DEFAULT_ALGORITHMS = ("ES384", "RS384", "ES256", "ES512", "RS256", "RS512", "PS256", "PS384", "PS512")
MAX_TOKEN_CHARS = 16_384
_KEY_TYPE = {"ES": "EC", "RS": "RSA", "PS": "RSA", "Ed": "OKP"}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class TrustedClientsError(ValueError):
    """The trusted-clients file is unreadable or unsafe; the service refuses to start."""


class _Refused(Exception):
    """Internal: why a token was refused (logged, never sent to the caller)."""

    def __init__(self, reason: str, **fields: Any):
        super().__init__(reason)
        self.reason = reason
        self.fields = fields


@dataclass(frozen=True)
class TrustedClient:
    """One CDS Client (EHR) allowed to call this service; see docs/threat-model.md for the file format."""

    iss: str
    name: str
    jku: tuple[str, ...] = ()                      # JWK Set URLs the client may name (and we may fetch)
    jwks: Mapping[str, dict] = field(default_factory=dict)   # kid -> public JWK, agreed out of band
    algorithms: frozenset[str] = frozenset(DEFAULT_ALGORITHMS)
    tenants: frozenset[str] | None = None          # None: the tenant claim is recorded, not checked
    fhir_hosts: frozenset[str] = frozenset()       # fhirServer hosts this client may send us to
    max_lifetime_s: int = 3600                     # exp - iat above this is refused


@dataclass(frozen=True)
class ClientIdentity:
    """Who called, as proven by the JWT. Only these fields ever reach logs and the audit trail."""

    issuer: str
    client: str
    tenant: str | None
    jti: str
    kid: str
    fhir_hosts: frozenset[str]
    expires_at: datetime


class ReplayCache(Protocol):
    def remember_jti(self, issuer: str, jti: str, expires_at: datetime, *, now: datetime | None = None) -> bool:
        """Record a token id until ``expires_at``. :return: False when it is already there (a replay)."""


class MemoryReplayCache:
    """A replay cache for one process (tests, single-instance development). Replicas share the Store instead."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime, *, now: datetime | None = None) -> bool:
        now = now or _utcnow()
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v >= now}
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = expires_at
            return True


# --------------------------------------------------------------------------- JWK Sets

def parse_jwks(body: Any, where: str) -> dict[str, dict]:
    """kid -> public JWK. Keys without a kid, symmetric keys, non-signing keys and private keys are refused;
    a kid that appears twice is ambiguous and dropped.

    :raise TrustedClientsError: when ``body`` is not a JWK Set at all.
    """
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise TrustedClientsError(f"{where}: not a JWK Set (an object with a 'keys' list)")
    keys: dict[str, dict] = {}
    duplicated: set[str] = set()
    for jwk in body["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
            continue
        if jwk.get("kty") not in ("EC", "RSA", "OKP") or jwk.get("use", "sig") != "sig":
            continue
        if any(part in jwk for part in ("d", "p", "q", "dp", "dq", "qi")):
            raise TrustedClientsError(f"{where}: key {jwk['kid']!r} is a PRIVATE key; publish only public keys")
        if jwk["kid"] in keys:
            duplicated.add(jwk["kid"])
        keys[jwk["kid"]] = jwk
    for kid in duplicated:
        del keys[kid]
    return keys


@dataclass
class _Entry:
    keys: dict[str, dict] = field(default_factory=dict)
    fetched: float | None = None    # clock time of the last successful fetch
    attempted: float = -math.inf    # clock time of the last fetch attempt


class JwksCache:
    """JWK Sets fetched from allowed ``jku`` URLs: cached for ``ttl_s``; on an unknown kid fetched once more,
    but never more often than every ``min_refresh_s`` per URL (an attacker's random kids cannot make us
    hammer the EHR). A failed refresh keeps the keys already known.
    """

    def __init__(self, session: requests.Session | None = None, *, clock: Callable[[], datetime] = _utcnow,
                 ttl_s: float = 3600, min_refresh_s: float = 60, timeout_s: float = 2.0, max_bytes: int = 262_144):
        self._session = session or requests.Session()
        self._clock = clock
        self.ttl_s, self.min_refresh_s, self.timeout_s, self.max_bytes = ttl_s, min_refresh_s, timeout_s, max_bytes
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def key(self, url: str, kid: str) -> dict | None:
        with self._lock:
            now = self._clock().timestamp()
            entry = self._entries.setdefault(url, _Entry())
            stale = entry.fetched is None or now - entry.fetched >= self.ttl_s
            if (stale or kid not in entry.keys) and now - entry.attempted >= self.min_refresh_s:
                self._refresh(url, entry, now)
            return entry.keys.get(kid)

    def _refresh(self, url: str, entry: _Entry, now: float) -> None:
        entry.attempted = now
        try:
            entry.keys = parse_jwks(self._fetch(url), url)
            entry.fetched = now
            log.info("jwks fetched", extra={"event": {"auth": "jwks", "jku": url, "keys": sorted(entry.keys)}})
        except (requests.RequestException, ValueError) as exc:
            log.warning("jwks fetch failed", extra={"event": {"auth": "jwks", "jku": url,
                                                              "error": type(exc).__name__}})

    def _fetch(self, url: str) -> Any:
        with self._session.get(url, timeout=self.timeout_s, allow_redirects=False, stream=True,
                               headers={"Accept": "application/json, application/jwk-set+json"}) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_content(16_384):
                size += len(chunk)
                if size > self.max_bytes:
                    raise ValueError("JWK Set too large")
                chunks.append(chunk)
        return json.loads(b"".join(chunks))


# --------------------------------------------------------------------------- verification

def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _Refused("no bearer token")
    if len(token) > MAX_TOKEN_CHARS:
        raise _Refused("token too long")
    return token


def _number(claims: dict, name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _short(value: Any) -> Any:
    """Attacker-chosen header/claim values are logged only as short strings."""
    return value[:200] if isinstance(value, str) else (None if value is None else type(value).__name__)


class JwtAuthenticator:
    """The ``authenticate(authorization, audience)`` callable the blueprint runs before every view."""

    def __init__(self, clients: Mapping[str, TrustedClient], *, replay: ReplayCache, leeway_s: int = 60,
                 clock: Callable[[], datetime] = _utcnow, jwks: JwksCache | None = None,
                 session: requests.Session | None = None):
        self.clients = dict(clients)
        self._replay = replay
        self.leeway_s = leeway_s
        self._clock = clock
        self._jwks = jwks or JwksCache(session, clock=clock)

    def __call__(self, authorization: str | None, audience: str) -> ClientIdentity:
        try:
            identity = self.verify(_bearer(authorization), audience)
        except _Refused as refused:
            log.warning("client authentication failed", extra={"event": {
                "auth": "refused", "reason": refused.reason, "audience": audience,
                **{k: _short(v) for k, v in refused.fields.items()}}})
            raise Unauthorized("Unauthorized") from None
        return identity

    def verify(self, token: str, audience: str) -> ClientIdentity:
        """:raise _Refused: with the reason."""
        header = self._header(token)
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _Refused("malformed payload", error=type(exc).__name__) from None
        iss = unverified.get("iss") if isinstance(unverified, dict) else None
        client = self.clients.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise _Refused("issuer not trusted", issuer=iss)
        kid, alg, jku = header["kid"], header["alg"], header.get("jku")
        if alg not in client.algorithms:
            raise _Refused("algorithm not allowed for this client", issuer=iss, alg=alg)
        if jku is not None and jku not in client.jku:
            raise _Refused("jku not on the allowlist", issuer=iss, jku=jku)
        jwk = self._key(client, kid, jku)
        if jwk is None:
            raise _Refused("unknown kid", issuer=iss, kid=kid)
        claims = self._verified_claims(token, jwk, alg, iss, kid)
        identity = self._check_claims(claims, client, kid, audience)
        if not self._replay.remember_jti(iss, identity.jti, identity.expires_at, now=self._clock()):
            raise _Refused("replayed jti", issuer=iss, jti=identity.jti)
        return identity

    @staticmethod
    def _header(token: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _Refused("malformed token", error=type(exc).__name__) from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none":
            raise _Refused("unsigned token (alg none)")
        if alg not in ASYMMETRIC:
            raise _Refused("algorithm is not asymmetric or not supported", alg=alg)
        if not isinstance(header.get("typ"), str) or header["typ"].upper() != "JWT":
            raise _Refused("typ is not JWT", typ=header.get("typ"))
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise _Refused("kid missing")
        if "jku" in header and not isinstance(header["jku"], str):
            raise _Refused("jku malformed")
        return header

    def _key(self, client: TrustedClient, kid: str, jku: str | None) -> dict | None:
        if kid in client.jwks:
            return client.jwks[kid]
        for url in ((jku,) if jku else client.jku):
            found = self._jwks.key(url, kid)
            if found is not None:
                return found
        return None

    @staticmethod
    def _verified_claims(token: str, jwk: dict, alg: str, iss: str, kid: str) -> dict:
        if jwk.get("kty") != _KEY_TYPE.get(alg[:2]) or jwk.get("alg", alg) != alg:
            raise _Refused("key does not fit the algorithm", issuer=iss, kid=kid, alg=alg)
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
            decoded = jwt.api_jws.PyJWS().decode_complete(
                token, key=key, algorithms=[alg],
                options={"verify_signature": True, "enforce_minimum_key_length": True})
            claims = json.loads(decoded["payload"])
        except (jwt.PyJWTError, ValueError) as exc:
            raise _Refused("signature invalid", issuer=iss, kid=kid, error=type(exc).__name__) from None
        if not isinstance(claims, dict) or claims.get("iss") != iss:
            raise _Refused("payload malformed", issuer=iss, kid=kid)
        return claims

    def _check_claims(self, claims: dict, client: TrustedClient, kid: str, audience: str) -> ClientIdentity:
        now, leeway, iss = self._clock().timestamp(), self.leeway_s, client.iss
        exp, iat, nbf = _number(claims, "exp"), _number(claims, "iat"), _number(claims, "nbf")
        if exp is None or iat is None:
            raise _Refused("exp or iat missing", issuer=iss)
        if "nbf" in claims and nbf is None:
            raise _Refused("nbf malformed", issuer=iss)
        if now > exp + leeway:
            raise _Refused("expired", issuer=iss, kid=kid)
        if iat > now + leeway:
            raise _Refused("issued in the future", issuer=iss, kid=kid)
        if nbf is not None and nbf > now + leeway:
            raise _Refused("not yet valid (nbf)", issuer=iss, kid=kid)
        if exp < iat or exp - iat > client.max_lifetime_s:
            raise _Refused("lifetime out of bounds", issuer=iss, lifetime_s=int(exp - iat))
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if audience not in [a for a in audiences if isinstance(a, str)]:
            raise _Refused("aud does not name this endpoint", issuer=iss, aud=aud if isinstance(aud, str) else None)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 512:
            raise _Refused("jti missing", issuer=iss)
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise _Refused("tenant malformed", issuer=iss)
        if client.tenants is not None and tenant not in client.tenants:
            raise _Refused("tenant not allowed", issuer=iss, tenant=tenant)
        expires_at = datetime.fromtimestamp(exp + leeway, timezone.utc)
        return ClientIdentity(issuer=iss, client=client.name, tenant=tenant, jti=jti, kid=kid,
                              fhir_hosts=client.fhir_hosts, expires_at=expires_at)


# --------------------------------------------------------------------------- the trusted-clients file

_CLIENT_KEYS = {"iss", "name", "jku", "jwks", "jwks_file", "algorithms", "tenants", "fhir_hosts",
                "max_token_lifetime_s"}


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TrustedClientsError(f"{where}: expected a list of non-empty strings")
    return [v.strip() for v in value]


def _static_keys(raw: dict, where: str, folder: Path) -> dict[str, dict]:
    """Keys agreed out of band: inline ``jwks`` and/or a ``jwks_file`` relative to the trusted-clients file."""
    jwks: dict[str, dict] = {}
    if raw.get("jwks") is not None:
        jwks.update(parse_jwks(raw["jwks"], f"{where}.jwks"))
    if raw.get("jwks_file") is not None:
        path = folder / str(raw["jwks_file"])
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TrustedClientsError(f"{where}.jwks_file: cannot read {path}: {exc}") from exc
        jwks.update(parse_jwks(body, f"{where}.jwks_file"))
    return jwks


def _client(raw: Any, index: int, folder: Path) -> TrustedClient:
    where = f"clients[{index}]"
    if not isinstance(raw, dict):
        raise TrustedClientsError(f"{where}: expected a mapping")
    unknown = set(raw) - _CLIENT_KEYS
    if unknown:
        raise TrustedClientsError(f"{where}: unknown keys {sorted(unknown)}")
    iss = raw.get("iss")
    if not isinstance(iss, str) or not iss.strip():
        raise TrustedClientsError(f"{where}: 'iss' is required")
    jku = _strings(raw.get("jku"), f"{where}.jku")
    for url in jku:
        if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
            raise TrustedClientsError(f"{where}.jku: {url!r} is not an absolute https URL")
    jwks = _static_keys(raw, where, folder)
    if not jku and not jwks:
        raise TrustedClientsError(f"{where}: needs 'jku' URLs or static 'jwks'/'jwks_file' keys")
    algorithms = _strings(raw.get("algorithms"), f"{where}.algorithms") or list(DEFAULT_ALGORITHMS)
    if set(algorithms) - ASYMMETRIC:
        raise TrustedClientsError(f"{where}.algorithms: only asymmetric algorithms, not "
                                  f"{sorted(set(algorithms) - ASYMMETRIC)}")
    tenants = raw.get("tenants")
    lifetime = raw.get("max_token_lifetime_s", 3600)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        raise TrustedClientsError(f"{where}.max_token_lifetime_s: a positive number of seconds")
    return TrustedClient(
        iss=iss.strip(), name=str(raw.get("name") or iss.strip()), jku=tuple(jku), jwks=jwks,
        algorithms=frozenset(algorithms),
        tenants=None if tenants is None else frozenset(_strings(tenants, f"{where}.tenants")),
        fhir_hosts=frozenset(h.lower() for h in _strings(raw.get("fhir_hosts"), f"{where}.fhir_hosts")),
        max_lifetime_s=lifetime)


def load_trusted_clients(path: str | Path) -> dict[str, TrustedClient]:
    """Read the trusted-clients YAML file. :raise TrustedClientsError: the service must not start with it."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TrustedClientsError(f"cannot read trusted clients file {path}: {exc}") from exc
    raw_clients = document.get("clients") if isinstance(document, dict) else None
    if not isinstance(raw_clients, list) or not raw_clients:
        raise TrustedClientsError(f"{path}: expected 'clients:' with at least one client")
    return clients_from(raw_clients, path.parent)


def clients_from(raw_clients: Iterable[Any], folder: Path = Path(".")) -> dict[str, TrustedClient]:
    clients: dict[str, TrustedClient] = {}
    for index, raw in enumerate(raw_clients):
        client = _client(raw, index, folder)
        if client.iss in clients:
            raise TrustedClientsError(f"clients[{index}]: issuer {client.iss!r} is listed twice")
        clients[client.iss] = client
    return clients


__all__ = ["ASYMMETRIC", "ClientIdentity", "JwksCache", "JwtAuthenticator", "MemoryReplayCache", "ReplayCache",
           "TrustedClient", "TrustedClientsError", "clients_from", "load_trusted_clients", "parse_jwks"]
