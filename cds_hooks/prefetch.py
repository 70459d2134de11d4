"""Prefetch: render STU2 templates, find what the client did not send, fetch it, and say what is missing.

Semantics (spec, "Providing FHIR Resources to a CDS Service"):
- a key that is absent was not attempted or failed: fetch it from ``fhirServer`` with the request's token;
- a key that is ``null`` means "no data": it is not fetched again;
- a key holding an OperationOutcome (or anything that is not a resource) is a client-side error: fetch once
  more, else the key is a failure;
- a Bundle with ``link[next]`` is followed page by page (bounded, same origin);
- Medications that draft orders name by ``medicationReference`` are read in the same batch.
Token values are percent-encoded, so an id cannot add query parameters to a template or climb its path.
Prefetched and fetched data come out in one ``Prefetched`` mapping, so the service reads both the same way.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import Executor, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Iterator, Mapping
from urllib.parse import quote

from .errors import FhirAccessError, PreconditionFailed
from .fhir import FhirClient, next_link
from .models import HookRequest, ServiceDefinition

_TOKEN = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")
_USER_TOKENS = {"userPractitionerId": "Practitioner", "userPractitionerRoleId": "PractitionerRole",
                "userPatientId": "Patient", "userRelatedPersonId": "RelatedPerson"}
_CONTEXT_TOKEN = re.compile(r"context\.[A-Za-z_][A-Za-z0-9_]*")
_MEDICATION_READ = re.compile(r"^Medication/[A-Za-z0-9\-.]+$")


class TemplateError(ValueError):
    """A prefetch token that cannot be resolved from this request."""


def check_template(template: str) -> None:
    """Refuse, at registration, a template a CDS Hooks 2.0 client could not render.

    STU2 allows only ``{{context.<root field>}}`` and the four user identifiers; 3.0-ballot FHIRPath such as
    ``{{today()}}`` would be sent literally or dropped by an STU2 client.
    :raise TemplateError: naming the offending token.
    """
    for token in _TOKEN.findall(template):
        if token not in _USER_TOKENS and not _CONTEXT_TOKEN.fullmatch(token):
            raise TemplateError(f"token {{{{{token}}}}} is not a CDS Hooks 2.0 prefetch token")
    if "{{" in _TOKEN.sub("", template) or "}}" in _TOKEN.sub("", template):
        raise TemplateError("unbalanced prefetch token delimiters")


def _url_value(raw: str, token: str) -> str:
    """Percent-encode a token value so that an id cannot add query parameters or climb the path.

    ``/`` is kept because ``{{context.userId}}`` is a whole reference (``Practitioner/123``) used as a read.
    """
    if any(part in (".", "..") for part in raw.split("/")):
        raise TemplateError(f"token {{{{{token}}}}} has a value that is not a FHIR id or reference")
    return quote(raw, safe="/")


def render_template(template: str, request: HookRequest) -> str:
    """Replace STU2 tokens: ``{{context.<root primitive>}}`` and the four ``{{user...Id}}`` identifiers.

    :raise TemplateError: naming the token and the context fields that were available.
    """
    def value(match: re.Match) -> str:
        token = match.group(1)
        if token.startswith("context."):
            name = token[len("context."):]
            found = request.context.get(name)
            if isinstance(found, (str, int, float)) and not isinstance(found, bool):
                return _url_value(str(found), token)
            available = sorted(k for k, v in request.context.items() if isinstance(v, (str, int, float)))
            raise TemplateError(f"token {{{{{token}}}}} has no primitive context value; "
                                f"available: {', '.join(available) or 'none'}")
        if token in _USER_TOKENS:
            user = request.context.get("userId")
            kind, _, ident = user.partition("/") if isinstance(user, str) else ("", "", "")
            if kind == _USER_TOKENS[token] and ident and "/" not in ident:
                return _url_value(ident, token)
            raise TemplateError(f"token {{{{{token}}}}} does not match userId")
        raise TemplateError(f"token {{{{{token}}}}} is not a CDS Hooks 2.0 prefetch token")
    return _TOKEN.sub(value, template)


@dataclass(frozen=True)
class Prefetched:
    """The data one invocation may use: every declared key's value, and which keys could not be had."""

    values: Mapping[str, dict | None]
    failures: Mapping[str, str] = field(default_factory=dict)   # key -> reason, without PHI
    fetched: frozenset[str] = frozenset()                        # keys this service fetched itself
    incomplete: frozenset[str] = frozenset()                     # keys whose pages could not all be read
    client: FhirClient | None = field(default=None, repr=False)  # set when something was fetched

    def __getitem__(self, key: str) -> dict | None:
        return self.values.get(key)

    def resources(self) -> Iterator[dict]:
        """Every resource in every value: single resources, and each Bundle's ``entry[].resource``."""
        for value in self.values.values():
            if not isinstance(value, dict):
                continue
            if value.get("resourceType") == "Bundle":
                for entry in value.get("entry") or []:
                    resource = entry.get("resource") if isinstance(entry, dict) else None
                    if isinstance(resource, dict):
                        yield resource
            else:
                yield value


def _unusable(supplied: Any) -> str | None:
    """Why a supplied prefetch value cannot be used (it is then fetched once more), or None when it can.

    ``null`` is usable: it means the client found no data.
    """
    if supplied is None:
        return None
    kind = supplied.get("resourceType") if isinstance(supplied, dict) else None
    if kind == "OperationOutcome":
        return "client sent an OperationOutcome"
    if not isinstance(kind, str) or not kind:
        return "client sent something that is not a FHIR resource"
    return None


def _sort_supplied(request: HookRequest, definition: ServiceDefinition):
    """Split the declared keys into usable values (``null`` included), failures, paginated Bundles to complete,
    and templates to fetch (absent keys and unusable values)."""
    values: dict[str, Any] = {}
    failures: dict[str, str] = {}
    incomplete: set[str] = set()
    to_fetch: dict[str, str] = {}
    for key, template in definition.prefetch.items():
        if key in request.prefetch:
            supplied = request.prefetch[key]
            unusable = _unusable(supplied)
            if unusable is None:
                values[key] = supplied
                if supplied is not None and supplied.get("resourceType") == "Bundle" and next_link(supplied):
                    incomplete.add(key)  # the client paginated: the remaining pages are read below
                continue
            failures[key] = unusable
        to_fetch[key] = template
    return values, failures, incomplete, to_fetch


def draft_medication_reads(request: HookRequest) -> dict[str, str]:
    """Reads for the Medications that draft MedicationRequests reference but ``draftOrders`` does not carry.

    R4 orders may name their drug by ``medicationReference``; an order whose drug is unknown cannot be judged,
    so these reads join the prefetch batch (in parallel, under the same deadline) instead of following it.
    Keys are ``draftOrders.medication[i]``: they name no id.
    """
    bundle = request.context.get("draftOrders")
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    resources = [e["resource"] for e in entries or () if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    carried = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}
    base = (request.fhir_server or "").rstrip("/") + "/"
    wanted: list[str] = []
    for resource in resources:
        reference = (resource.get("medicationReference") or {}).get("reference") \
            if resource.get("resourceType") == "MedicationRequest" else None
        if isinstance(reference, str) and reference.startswith(base):
            reference = reference[len(base):]  # an absolute reference into the same fhirServer
        if isinstance(reference, str) and _MEDICATION_READ.match(reference) and reference not in carried \
                and reference not in wanted:
            wanted.append(reference)
    return {f"draftOrders.medication[{i}]": reference for i, reference in enumerate(wanted)}


def _require(definition: ServiceDefinition, request: HookRequest, values: Mapping[str, Any],
             failures: Mapping[str, str]) -> None:
    """:raise PreconditionFailed: a required key has no value (absent and unfetchable, failed, null, not found)."""
    missing = sorted(k for k in definition.required_prefetch if values.get(k) is None)
    if not missing:
        return

    def why(key: str) -> str:
        if key in failures:
            return failures[key]
        if key in request.prefetch and request.prefetch[key] is None:
            return "the client sent null: no such record"
        return "not found on the FHIR server" if key in values else "absent"
    raise PreconditionFailed("Required FHIR data could not be obtained: " + "; ".join(
        f"prefetch key '{k}' ({why(k)})" for k in missing), expression=[f"prefetch.{k}" for k in missing])


# (request, deadline, client identity from authentication or None) -> client; raises FhirAccessError when the
# request's fhirServer may not be called (URL policy, the calling client's host allowlist).
ClientFactory = Callable[[HookRequest, float, Any], FhirClient]


@dataclass
class PrefetchFulfiller:
    """Fills the keys a request did not supply, in parallel, under one deadline per request."""

    executor: Executor
    client_factory: ClientFactory          # builds a client for the request (checks the URL policy)
    deadline_s: float = 1.5

    def fulfil(self, request: HookRequest, definition: ServiceDefinition, identity: Any = None, *,
               waiting: Callable[[], ContextManager[Any]] = nullcontext) -> Prefetched:
        """:raise PreconditionFailed: when a key in ``definition.required_prefetch`` cannot be had.

        ``waiting`` wraps the network fetches (the blueprint releases its CPU gate there, see gate.py).
        """
        deadline = time.monotonic() + self.deadline_s
        values, failures, incomplete, to_fetch = _sort_supplied(request, definition)
        if request.fhir_server:
            to_fetch.update(draft_medication_reads(request))
        client = None
        if to_fetch or incomplete:
            with waiting():  # building the client resolves the host (the SSRF check): a wait too
                client = self._client(request, deadline, identity, failures)
                if client is not None:
                    self._fetch_all(client, request, to_fetch, values, failures, incomplete, deadline)
        if client is None:
            for key in [*to_fetch, *incomplete]:
                failures.setdefault(key, failures.get("*", "no fhirServer to fetch from"))
        failures.pop("*", None)
        _require(definition, request, values, failures)
        return Prefetched(values=values, failures=failures, fetched=frozenset(to_fetch) - set(failures),
                          incomplete=frozenset(incomplete), client=client)

    def _client(self, request, deadline, identity, failures) -> FhirClient | None:
        if not request.fhir_server:
            return None
        try:
            return self.client_factory(request, deadline, identity)
        except FhirAccessError as exc:
            failures["*"] = str(exc)
            return None

    def _fetch_all(self, client, request, to_fetch, values, failures, incomplete, deadline) -> None:
        queries: dict[str, str] = {}
        for key, template in to_fetch.items():
            try:
                queries[key] = render_template(template, request)
            except TemplateError as exc:
                failures[key] = str(exc)
        futures = {self.executor.submit(client.get, query): key for key, query in queries.items()}
        futures.update({self.executor.submit(client.complete, values[key]): key for key in incomplete})
        done, not_done = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        for future in not_done:
            future.cancel()
            failures[futures[future]] = "deadline passed"
        for future in done:
            key = futures[future]
            try:
                values[key] = future.result()
                failures.pop(key, None)
                incomplete.discard(key)
            except FhirAccessError as exc:
                failures[key] = str(exc)
            except Exception as exc:  # noqa: BLE001 - one broken read degrades its key, not the whole call
                failures[key] = f"unexpected error ({type(exc).__name__})"
