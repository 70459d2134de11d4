"""An EHR's FHIR server on ``responses`` (no network): reads, searches by type and patient, paging, failures.

Searches ignore every parameter but ``patient`` and ``_offset``: the services filter by code themselves, and
what a test checks is which queries were sent, with which token, and what came back.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import responses

from tests.cds_hooks.toy import FHIR_BASE

OUTCOME = {"resourceType": "OperationOutcome",
           "issue": [{"severity": "error", "code": "processing", "diagnostics": "scripted failure"}]}


@dataclass(frozen=True)
class Call:
    url: str
    path: str                     # relative to the base, e.g. "Patient/pat-1" or "Condition"
    query: dict[str, list[str]]
    authorization: str | None


class FakeEhr:
    def __init__(self, rsps: responses.RequestsMock, base: str = FHIR_BASE, *, page_size: int | None = None):
        self.base = base.rstrip("/")
        self.page_size = page_size
        self.resources: list[dict] = []
        self.failures: dict[str, object] = {}      # resource type -> HTTP status, exception, or a 200 body
        self.gate = threading.Event()
        self.gated: set[str] = set()                # resource types whose answers wait for ``gate``
        self.barrier: threading.Barrier | None = None  # when set, every answer waits for the others to arrive
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        rsps.add_callback(responses.GET, re.compile(re.escape(self.base) + r"(/.*)?$"), callback=self._answer)

    def add(self, *resources: dict) -> "FakeEhr":
        self.resources.extend(resources)
        return self

    def paths(self) -> list[str]:
        return sorted(call.path for call in self.calls)

    def _answer(self, request):
        parts = urlsplit(request.url)
        path = parts.path[len(urlsplit(self.base).path):].strip("/")
        query = parse_qs(parts.query)
        with self._lock:
            self.calls.append(Call(request.url, path, query, request.headers.get("Authorization")))
        kind = path.split("/")[0]
        if self.barrier is not None:
            self.barrier.wait(2)  # raises BrokenBarrierError unless all parties are in flight together
        if kind in self.gated:
            self.gate.wait(5)
        failure = self.failures.get(kind)
        if isinstance(failure, Exception):
            raise failure
        if isinstance(failure, int):
            return failure, {"Content-Type": "application/fhir+json"}, json.dumps(OUTCOME)
        if isinstance(failure, dict):
            return 200, {"Content-Type": "application/fhir+json"}, json.dumps(failure)
        return self._read(path) if "/" in path else self._search(request.url, kind, query)

    def _read(self, path: str):
        kind, _, ident = path.partition("/")
        for resource in self.resources:
            if resource.get("resourceType") == kind and resource.get("id") == ident:
                return 200, {"Content-Type": "application/fhir+json"}, json.dumps(resource)
        return 404, {"Content-Type": "application/fhir+json"}, json.dumps(OUTCOME)

    def _search(self, url: str, kind: str, query: dict):
        patient = (query.get("patient") or [None])[0]
        matches = [r for r in self.resources if r.get("resourceType") == kind and
                   (patient is None or _subject(r) == f"Patient/{patient}")]
        offset = int((query.get("_offset") or ["0"])[0])
        size = self.page_size or len(matches) or 1
        body = {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
                "entry": [{"resource": r} for r in matches[offset:offset + size]]}
        if offset + size < len(matches):
            parts = urlsplit(url)
            next_query = {**{k: v[0] for k, v in query.items()}, "_offset": str(offset + size)}
            body["link"] = [{"relation": "next", "url": urlunsplit(parts._replace(query=urlencode(next_query)))}]
        return 200, {"Content-Type": "application/fhir+json"}, json.dumps(body)


def _subject(resource: dict) -> str | None:
    for name in ("subject", "patient"):
        reference = resource.get(name)
        if isinstance(reference, dict):
            return reference.get("reference")
    return None
