"""Prefetch: render STU2 templates, find what the client did not send, fetch it, and say what is missing.

Semantics (spec, "Providing FHIR Resources to a CDS Service"):
- a key that is absent was not attempted or failed: fetch it from ``fhirServer`` with the request's token;
- a key that is ``null`` means "no data": it is not fetched again;
- a key holding an OperationOutcome is a client-side error: fetch once more, else the key is a failure;
- a Bundle with ``link[next]`` is followed page by page (bounded).
Prefetched and fetched data come out in one ``Prefetched`` mapping, so the service reads both the same way.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import Executor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from .errors import FhirAccessError, PreconditionFailed
from .fhir import FhirClient, next_link
from .models import HookRequest, ServiceDefinition

_TOKEN = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")
_USER_TOKENS = {"userPractitionerId": "Practitioner", "userPractitionerRoleId": "PractitionerRole",
                "userPatientId": "Patient", "userRelatedPersonId": "RelatedPerson"}


class TemplateError(ValueError):
    """A prefetch token that cannot be resolved from this request."""


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
                return str(found)
            available = sorted(k for k, v in request.context.items() if isinstance(v, (str, int, float)))
            raise TemplateError(f"token {{{{{token}}}}} has no primitive context value; "
                                f"available: {', '.join(available) or 'none'}")
        if token in _USER_TOKENS:
            user = request.context.get("userId")
            kind, _, ident = user.partition("/") if isinstance(user, str) else ("", "", "")
            if kind == _USER_TOKENS[token] and ident:
                return ident
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
    client: FhirClient | None = field(default=None, repr=False)  # for follow-up reads (e.g. medicationReference)

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


# (request, deadline, client identity from authentication or None) -> client; raises FhirAccessError when the
# request's fhirServer may not be called (URL policy, the calling client's host allowlist).
ClientFactory = Callable[[HookRequest, float, Any], FhirClient]


@dataclass
class PrefetchFulfiller:
    """Fills the keys a request did not supply, in parallel, under one deadline per request."""

    executor: Executor
    client_factory: ClientFactory          # builds a client for the request (checks the URL policy)
    deadline_s: float = 1.5

    def fulfil(self, request: HookRequest, definition: ServiceDefinition, identity: Any = None) -> Prefetched:
        """:raise PreconditionFailed: when a key in ``definition.required_prefetch`` cannot be had."""
        deadline = time.monotonic() + self.deadline_s
        values: dict[str, Any] = {}
        failures: dict[str, str] = {}
        incomplete: set[str] = set()
        to_fetch: dict[str, str] = {}
        for key, template in definition.prefetch.items():
            if key in request.prefetch:
                supplied = request.prefetch[key]
                if supplied is None:
                    values[key] = None
                    continue
                if supplied.get("resourceType") != "OperationOutcome":
                    values[key] = supplied
                    if supplied.get("resourceType") == "Bundle" and next_link(supplied):
                        incomplete.add(key)  # the client paginated: the remaining pages are read below
                    continue
                failures[key] = "client sent an OperationOutcome"
            to_fetch[key] = template

        client = self._client(request, deadline, identity, failures, to_fetch or incomplete)
        if client is not None and (to_fetch or incomplete):
            self._fetch_all(client, request, to_fetch, values, failures, incomplete, deadline)
        else:
            for key in [*to_fetch, *incomplete]:
                failures.setdefault(key, failures.get("*", "no fhirServer to fetch from"))
        failures.pop("*", None)

        # A required key with no value (absent and unfetchable, failed, or null) leaves nothing to decide on.
        missing = sorted(k for k in definition.required_prefetch if values.get(k) is None)
        if missing:
            raise PreconditionFailed(
                "Required FHIR data could not be obtained: " + "; ".join(
                    f"prefetch key '{k}' ({failures.get(k, 'absent')})" for k in missing),
                expression=[f"prefetch.{k}" for k in missing])
        return Prefetched(values=values, failures=failures, fetched=frozenset(to_fetch) - set(failures),
                          incomplete=frozenset(incomplete), client=client)

    def _client(self, request, deadline, identity, failures, to_fetch) -> FhirClient | None:
        if not request.fhir_server:
            return None
        try:
            return self.client_factory(request, deadline, identity)
        except FhirAccessError as exc:
            if to_fetch:
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
