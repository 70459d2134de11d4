"""The smoke test an integration engineer runs against a sandbox: every manifest patient, every hook, two ways.

1. ``prefetch``: as a CDS client would. Read the service's discovery, render each prefetch template with the
   hook's context (``cds_hooks.prefetch.render_template``), GET it from the FHIR server and send what came back.
   Like the CDS Hooks sandbox, a query that fails is left out (the service then fetches it) and a search Bundle is
   sent as the server paged it (the service reads the remaining pages).
2. ``fetch``: no prefetch at all; the service reads everything from ``fhirServer`` itself.
Both answers are held to the manifest, and to each other: the same record must give the same cards either way.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

import jwt
import requests

from cds_hooks import HookRequest, TemplateError, render_template, validate_response

from .data import (HOOKS, ORDER_HOOKS, Manifest, SandboxPatient, materialise, materialised_on, read_json, resources_of,
                   utc_today)
from .expect import check, comparable, describe
from .loader import fhir_headers

MODES = ("prefetch", "fetch")
TIMEOUT_S = 30


@dataclass(frozen=True)
class ClientJwt:
    """Signs the CDS Client JWT (spec "Trusting CDS Clients") for services that check it."""

    private_key: str
    issuer: str
    kid: str
    algorithm: str = "ES384"
    jku: str | None = None

    def header_for(self, url: str) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": url, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        headers = {"kid": self.kid, "typ": "JWT", **({"jku": self.jku} if self.jku else {})}
        return {"Authorization": "Bearer " + jwt.encode(claims, self.private_key, self.algorithm, headers)}


@dataclass
class Call:
    patient: str
    hook: str
    mode: str
    got: str = ""
    mismatches: list[str] = field(default_factory=list)
    response: dict | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass
class SmokeReport:
    calls: list[Call] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # what the FHIR server did, once per kind of event

    @property
    def ok(self) -> bool:
        return bool(self.calls) and all(c.ok for c in self.calls)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def to_json(self) -> dict:
        return {"ok": self.ok, "notes": self.notes,
                "calls": [{"patient": c.patient, "hook": c.hook, "mode": c.mode, "got": c.got,
                           "mismatches": c.mismatches, "response": c.response} for c in self.calls]}


@dataclass
class Smoke:
    manifest: Manifest
    fhir_base: str                         # where this harness reads the FHIR server (as the CDS client)
    service_url: str                       # the service base, e.g. http://127.0.0.1:8080
    service_fhir_base: str | None = None   # fhirServer as the service must reach it (defaults to fhir_base)
    token: str | None = None               # FHIR bearer token (also passed to the service as fhirAuthorization)
    session: requests.Session = field(default_factory=requests.Session)
    signer: ClientJwt | None = None
    today: Callable[[], date] = utc_today

    def run(self, only: set[str] | None = None) -> SmokeReport:
        report = SmokeReport()
        discovery = self._discovery()
        for patient in self.manifest.patients:
            if only and patient.id not in only:
                continue
            self._stale_check(patient, report)
            for hook in HOOKS:
                definition = next((s for s in discovery if s.get("hook") == hook
                                   and s.get("id") == self.manifest.services.get(hook)), None)
                calls = [self._call(patient, hook, mode, definition, report) for mode in MODES]
                if all(c.response is not None for c in calls) and \
                        comparable(calls[0].response) != comparable(calls[1].response):
                    calls[1].mismatches.append("the answer differs from the prefetch mode's answer")
                report.calls += calls
        return report

    # ------------------------------------------------------------------ one call

    def _call(self, patient: SandboxPatient, hook: str, mode: str, definition: dict | None,
              report: SmokeReport) -> Call:
        call = Call(patient.id, hook, mode)
        if definition is None:
            call.got, call.mismatches = "-", [f"service {self.manifest.services.get(hook)!r} for {hook} "
                                              f"is not in discovery"]
            return call
        body, order = self._request(patient, hook)
        if mode == "prefetch":
            body["prefetch"] = self._prefetch(definition.get("prefetch") or {}, body, report)
        url = f"{self.service_url.rstrip('/')}/cds-services/{definition['id']}"
        headers = {"Content-Type": "application/json", **(self.signer.header_for(url) if self.signer else {})}
        try:
            answer = self.session.post(url, json=body, headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            call.got, call.mismatches = "no answer", [f"service unreachable ({type(exc).__name__})"]
            return call
        if answer.status_code != 200:
            call.got = f"HTTP {answer.status_code}"
            call.mismatches = [f"HTTP {answer.status_code}: {_outcome(answer)}"]
            return call
        try:
            call.response = answer.json()
        except ValueError:
            call.got, call.mismatches = "not JSON", ["the service answered 200 with a body that is not JSON"]
            return call
        call.got = describe(call.response, order)
        call.mismatches = [f"invalid CDS Hooks response: {e}" for e in validate_response(call.response)]
        call.mismatches += check(patient.expectations(hook), call.response, order)
        return call

    def _request(self, patient: SandboxPatient, hook: str) -> tuple[dict, str | None]:
        """The hook request a CDS client would send for this patient; and the inotuzumab order's reference."""
        bundle = read_json(patient.bundle_path)
        subject = next((r for r in resources_of(bundle) if r.get("resourceType") == "Patient"), {})
        practitioner = ((subject.get("generalPractitioner") or [{}])[0]).get("reference", "Practitioner/unknown")
        context: dict = {"userId": practitioner, "patientId": patient.id}
        order = None
        if hook in ORDER_HOOKS:
            drafts = materialise(read_json(patient.orders_path), self.today()) if patient.orders_path else {}
            context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                      "entry": [{"resource": r} for r in resources_of(drafts)]}
            ids = [f"{r['resourceType']}/{r['id']}" for r in resources_of(drafts)]
            order = next((i for i in ids if i.endswith("-draft-inotuzumab")), ids[0] if ids else None)
            if hook == "order-select":
                context["selections"] = [order] if order else []
        body = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context,
                "fhirServer": self.service_fhir_base or self.fhir_base}
        if self.token:
            body["fhirAuthorization"] = {"access_token": self.token, "token_type": "Bearer", "expires_in": 300,
                                         "scope": "patient/*.read", "subject": "inotuzumab-cds-smoke"}
        return body, order

    def _prefetch(self, templates: dict[str, str], body: dict, report: SmokeReport) -> dict:
        request = HookRequest(body["hook"], body["hookInstance"], body["context"], body.get("fhirServer"))
        prefetch: dict = {}
        for key, template in templates.items():
            try:
                query = render_template(template, request)
            except TemplateError as exc:
                report.note(f"prefetch '{key}': template not rendered ({exc}); left out")
                continue
            value = self._get(key, query, report)
            if value is not False:
                prefetch[key] = value
        return prefetch

    def _get(self, key: str, query: str, report: SmokeReport) -> dict | None | bool:
        """The server's answer to one prefetch query: a resource, None (no such record), or False (left out)."""
        try:
            answer = self.session.get(f"{self.fhir_base.rstrip('/')}/{query}", headers=fhir_headers(self.token),
                                      timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            report.note(f"prefetch '{key}': FHIR server unreachable ({type(exc).__name__}); left out")
            return False
        if answer.status_code in (404, 410) and "?" not in query:
            return None
        if answer.status_code != 200:
            report.note(f"prefetch '{key}': FHIR server answered HTTP {answer.status_code} "
                        f"{_outcome(answer)}; left out, the service fetches it")
            return False
        value = answer.json()
        _notice(key, value, report)
        return value

    # ------------------------------------------------------------------ context

    def _discovery(self) -> list[dict]:
        url = f"{self.service_url.rstrip('/')}/cds-services"
        headers = self.signer.header_for(url) if self.signer else {}
        answer = self.session.get(url, headers=headers, timeout=TIMEOUT_S)
        answer.raise_for_status()
        return [s for s in answer.json().get("services") or () if isinstance(s, dict)]

    def _stale_check(self, patient: SandboxPatient, report: SmokeReport) -> None:
        try:
            answer = self.session.get(f"{self.fhir_base.rstrip('/')}/Patient/{patient.id}",
                                      headers=fhir_headers(self.token), timeout=TIMEOUT_S)
        except requests.RequestException:
            return
        if answer.status_code != 200:
            report.note(f"Patient/{patient.id} is not on the FHIR server (HTTP {answer.status_code}): "
                        f"run load-sandbox first")
            return
        stamped = materialised_on(answer.json())
        if stamped and stamped != self.today().isoformat():
            report.note(f"the sandbox patients' dates were made current on {stamped}, not today: results age "
                        f"every day, run load-sandbox again before smoke")


def _notice(key: str, value: dict, report: SmokeReport) -> None:
    """Record what the server did with the query: paging, ignored parameters, warnings."""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return
    if any(link.get("relation") == "next" for link in value.get("link") or () if isinstance(link, dict)):
        report.note(f"prefetch '{key}': the server paged the result; the first page was sent and the service "
                    f"read the rest")
    for entry in value.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome":
            for issue in resource.get("issue") or ():
                report.note(f"prefetch '{key}': server said: {issue.get('severity')}: "
                            f"{str(issue.get('diagnostics', ''))[:160]}")


def _outcome(answer: requests.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return ""
    issues = body.get("issue") if isinstance(body, dict) else None
    return "; ".join(str(i.get("diagnostics", ""))[:200] for i in issues or () if isinstance(i, dict))


def format_report(report: SmokeReport) -> str:
    width = max([len(c.patient) for c in report.calls] + [7])
    lines = [f"{'patient':<{width}}  {'hook':<12}  {'mode':<8}  {'answer':<34}  result",
             f"{'-' * width}  {'-' * 12}  {'-' * 8}  {'-' * 34}  ------"]
    for c in report.calls:
        lines.append(f"{c.patient:<{width}}  {c.hook:<12}  {c.mode:<8}  {c.got:<34}  "
                     f"{'ok' if c.ok else 'MISMATCH'}")
    failed = [c for c in report.calls if not c.ok]
    if failed:
        lines += ["", "Mismatches:"]
        for c in failed:
            lines += [f"  {c.patient} {c.hook} ({c.mode}):"] + [f"    - {m}" for m in c.mismatches]
    if report.notes:
        lines += ["", "FHIR server notes:"] + [f"  - {n}" for n in report.notes]
    lines += ["", f"{len(report.calls) - len(failed)} of {len(report.calls)} calls matched the manifest."]
    return "\n".join(lines)
