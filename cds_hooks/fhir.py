"""Reads from the EHR's FHIR server: bounded in time, pages and bytes, and never to a URL it should not call.

The access token is held only by the client object of one request and sent only to that request's
``fhirServer`` origin (pages included); it is never logged.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

from .errors import FhirAccessError, FhirServerRefused


@dataclass(frozen=True)
class FhirLimits:
    timeout_s: float = 2.0          # per HTTP call, further cut by the request deadline
    max_pages: int = 5              # Bundle.link[next] followed at most this many times per query
    max_bytes: int = 20_000_000     # per response body


@dataclass(frozen=True)
class UrlPolicy:
    """Which fhirServer URLs may be called (the SSRF guard).

    ``allowed_hosts`` empty means any host passes the allowlist step; the address check still applies.
    """

    allow_http: bool = False
    allow_private: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    def check(self, url: str) -> None:
        """:raise FhirServerRefused: with the reason, for a URL this service must not call."""
        try:
            parts = urlsplit(url)
            hostname, port = parts.hostname, parts.port
        except ValueError as exc:  # e.g. "http://[x" or a port out of range: unreadable, not a crash
            raise FhirServerRefused("fhirServer is not a valid URL") from exc
        if parts.scheme not in ("https", "http") or not hostname:
            raise FhirServerRefused("fhirServer must be an absolute http(s) URL")
        if parts.scheme == "http" and not self.allow_http:
            raise FhirServerRefused("fhirServer must use https")
        host = hostname.lower()
        if self.allowed_hosts and host not in self.allowed_hosts:
            raise FhirServerRefused(f"fhirServer host {host} is not on this client's allowlist")
        if not self.allow_private:
            for address in _addresses(host, port or (443 if parts.scheme == "https" else 80)):
                if (address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
                        or address.is_multicast or address.is_unspecified):
                    raise FhirServerRefused(f"fhirServer host {host} resolves to a non-public address")


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise FhirServerRefused(f"fhirServer host {host} does not resolve") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


class FhirClient:
    """GETs relative FHIR queries against one base URL with one bearer token."""

    def __init__(self, base_url: str, access_token: str | None, session: requests.Session,
                 limits: FhirLimits = FhirLimits(), deadline: float | None = None):
        self.base_url = base_url.rstrip("/") + "/"
        self._token = access_token
        self._session = session
        self._limits = limits
        self._deadline = deadline  # time.monotonic() value after which no call starts
        self._origin = urlsplit(self.base_url)[:2]

    def __repr__(self) -> str:  # keeps the token out of any traceback or log
        return f"FhirClient({self.base_url!r})"

    def get(self, query: str) -> dict | None:
        """Read or search; a search follows ``Bundle.link[next]`` up to the page bound and merges entries.

        :return: the resource or Bundle, or None when a read answers 404/410 (no such record).
        :raise FhirAccessError: timeout, refused, HTTP error, unreadable or oversized body.
        """
        return self.complete(self._get_json(urljoin(self.base_url, query.lstrip("/"))))

    def complete(self, body: dict | None) -> dict | None:
        """Follow a search Bundle's ``link[next]`` pages (same origin only) and return one merged Bundle."""
        if body is None or body.get("resourceType") != "Bundle":
            return body
        entries = list(body.get("entry") or [])
        next_url, pages = next_link(body), 1
        while next_url:
            if pages > self._limits.max_pages:
                raise FhirAccessError(f"more than {self._limits.max_pages} pages")
            try:
                next_url = urljoin(self.base_url, next_url)  # a relative link stays on the fhirServer
                origin = urlsplit(next_url)[:2]
            except ValueError as exc:
                raise FhirAccessError("a next link is not a valid URL") from exc
            if origin != self._origin:
                raise FhirServerRefused("Bundle next link points outside the fhirServer")
            page = self._get_json(next_url)
            if page is None or page.get("resourceType") != "Bundle":
                raise FhirAccessError("a next page was not a Bundle")
            entries += page.get("entry") or []
            next_url, pages = next_link(page), pages + 1
        merged = {k: v for k, v in body.items() if k != "link"}
        merged["entry"] = entries
        return merged

    def _get_json(self, url: str) -> dict | None:
        timeout = self._limits.timeout_s
        if self._deadline is not None:
            timeout = min(timeout, self._deadline - time.monotonic())
            if timeout <= 0:
                raise FhirAccessError("request deadline passed")
        headers = {"Accept": "application/fhir+json, application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with self._session.get(url, headers=headers, timeout=timeout, stream=True,
                                   allow_redirects=False) as response:
                if response.status_code in (404, 410):
                    return None
                if response.status_code != 200:
                    raise FhirAccessError(f"FHIR server answered HTTP {response.status_code}")
                raw = _read_bounded(response, self._limits.max_bytes)
        except requests.RequestException as exc:
            raise FhirAccessError(f"FHIR server unreachable ({type(exc).__name__})") from exc
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise FhirAccessError("FHIR server answered something that is not JSON") from exc
        if not isinstance(body, dict):
            raise FhirAccessError("FHIR server answered JSON that is not a resource")
        if body.get("resourceType") == "OperationOutcome":
            raise FhirAccessError("FHIR server answered an OperationOutcome")
        return body


def _read_bounded(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FhirAccessError("FHIR response too large")
    chunks, size = [], 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > max_bytes:
            raise FhirAccessError("FHIR response too large")
        chunks.append(chunk)
    return b"".join(chunks)


def next_link(bundle: dict) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None
