"""Load the sandbox Bundles into any FHIR R4 server: a transaction per Bundle, or PUTs when that is refused.

Every entry is a PUT with a fixed id, so loading twice leaves the server as loading once (idempotent), and a
reload refreshes the dates (see ``data.materialise``). Shared resources go first because the patients refer to them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import requests

from .data import Manifest, materialise, read_json, resources_of, stamp_materialised, utc_today

FHIR_JSON = "application/fhir+json"
TIMEOUT_S = 60


@dataclass
class BundleLoad:
    name: str
    resources: int
    method: str = "transaction"                    # "transaction", or "put" after a refused transaction
    failures: list[str] = field(default_factory=list)
    note: str | None = None                        # why the transaction was not used

    @property
    def ok(self) -> bool:
        return not self.failures


def fhir_headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def wait_for_server(fhir_base: str, session: requests.Session, wait_s: float, *, token: str | None = None,
                    poll_s: float = 2.0) -> None:
    """Poll ``[base]/metadata`` until it answers 200, for at most ``wait_s`` seconds (0: one try).

    :raise ConnectionError: naming the last answer when the server is not ready in time.
    """
    deadline = time.monotonic() + wait_s
    last = "no answer"
    while True:
        try:
            response = session.get(f"{fhir_base.rstrip('/')}/metadata", headers=fhir_headers(token), timeout=10)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        if time.monotonic() + poll_s > deadline:
            raise ConnectionError(f"FHIR server {fhir_base} not ready after {wait_s:g} s ({last})")
        time.sleep(poll_s)


def load_sandbox(manifest: Manifest, fhir_base: str, *, session: requests.Session | None = None,
                 token: str | None = None, today: date | None = None) -> list[BundleLoad]:
    """Load every sandbox Bundle, shared resources first; one result per Bundle."""
    session = session or requests.Session()
    today = today or utc_today()
    return [load_bundle(path, fhir_base, session=session, token=token, today=today)
            for path in manifest.bundle_paths()]


def load_bundle(path: Path, fhir_base: str, *, session: requests.Session, token: str | None,
                today: date) -> BundleLoad:
    bundle = stamp_materialised(materialise(read_json(path), today), today)
    result = BundleLoad(path.stem, len(resources_of(bundle)))
    refused = _transaction(bundle, fhir_base, session, token)
    if refused is None:
        return result
    result.method, result.note = "put", refused
    for entry in bundle.get("entry") or ():
        failure = _put(entry, fhir_base, session, token)
        if failure:
            result.failures.append(failure)
    return result


def _transaction(bundle: dict, fhir_base: str, session: requests.Session, token: str | None) -> str | None:
    """Post the Bundle as one transaction; None when every entry succeeded, else why it did not."""
    try:
        response = session.post(fhir_base.rstrip("/"), json=bundle, headers=fhir_headers(token), timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        return f"transaction not sent ({type(exc).__name__})"
    if response.status_code not in (200, 201):
        return f"transaction refused: HTTP {response.status_code} {_diagnostics(response)}".rstrip()
    try:
        body = response.json()
    except ValueError:
        return "transaction answered something that is not JSON"
    statuses = [str((e.get("response") or {}).get("status", "")) for e in body.get("entry") or ()]
    if body.get("type") != "transaction-response" or len(statuses) != len(bundle.get("entry") or ()):
        return "transaction answered without a transaction-response for every entry"
    failed = [s for s in statuses if not s.startswith("2")]
    return f"transaction entries failed ({', '.join(failed[:3])})" if failed else None


def _put(entry: dict, fhir_base: str, session: requests.Session, token: str | None) -> str | None:
    url = (entry.get("request") or {}).get("url", "")
    try:
        response = session.put(f"{fhir_base.rstrip('/')}/{url}", json=entry.get("resource"),
                               headers=fhir_headers(token), timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        return f"PUT {url}: {type(exc).__name__}"
    if response.status_code in (200, 201):
        return None
    return f"PUT {url}: HTTP {response.status_code} {_diagnostics(response)}".rstrip()


def _diagnostics(response: requests.Response) -> str:
    """The first OperationOutcome diagnostics, short: enough to say why, never a whole body."""
    try:
        body = response.json()
    except ValueError:
        return ""
    issues = body.get("issue") or [] if isinstance(body, dict) else []
    text = next((i.get("diagnostics") for i in issues if isinstance(i, dict) and i.get("diagnostics")), "")
    return f"({text[:200]})" if text else ""


def format_loads(results: list[BundleLoad], fhir_base: str) -> str:
    lines = [f"Loaded into {fhir_base}:", f"  {'bundle':<24} {'resources':>9}  {'method':<11} result"]
    for r in results:
        lines.append(f"  {r.name:<24} {r.resources:>9}  {r.method:<11} "
                     f"{'ok' if r.ok else f'{len(r.failures)} FAILED'}")
        if r.note:
            lines.append(f"    {r.note}")
        lines += [f"    {failure}" for failure in r.failures[:10]]
    total = sum(r.resources for r in results)
    failed = sum(len(r.failures) for r in results)
    lines.append(f"{total} resources in {len(results)} bundles, {failed} failed.")
    return "\n".join(lines)
