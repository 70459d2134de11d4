"""A loopback FHIR server for the no-prefetch figure: answers every query after a fixed delay.

It serves the light workload's resources by resource type: ``Patient/<id>`` reads, and searches filtered by
``code`` (system|code tokens) and ``status`` when given, answered as searchset Bundles. The delay is slept in
the handler thread, so concurrent queries overlap as they would against a real server.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .workloads import resource_codes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as the service's requests.Session expects
    disable_nagle_algorithm = True  # else headers and body leave in two writes and wait ~40 ms for a delayed ACK

    def do_GET(self):  # noqa: N802 - http.server's naming
        server: FhirStub = self.server.stub  # type: ignore[attr-defined]
        time.sleep(server.delay_s)
        status, body = server.answer(self.path)
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
        with server.lock:
            server.queries += 1

    def log_message(self, *args):  # quiet
        pass


class FhirStub:
    """``with FhirStub(resources, delay_s=0.1) as stub: stub.base_url``"""

    def __init__(self, resources: list[dict], delay_s: float = 0.1):
        self.delay_s = delay_s
        self.by_type: dict[str, list[dict]] = {}
        for resource in resources:
            self.by_type.setdefault(resource["resourceType"], []).append(resource)
        self.queries = 0
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fhir-stub", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/fhir"

    def answer(self, path: str) -> tuple[int, dict]:
        parts = urlsplit(path)
        segments = [s for s in parts.path.split("/") if s][1:]   # drop the "fhir" base segment
        if len(segments) == 2:
            kind, rid = segments
            found = [r for r in self.by_type.get(kind, []) if r.get("id") == unquote(rid)]
            return (200, found[0]) if found else (404, {"resourceType": "OperationOutcome", "issue": []})
        kind = segments[0] if segments else ""
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        wanted = {tuple(t.rsplit("|", 1)) for t in params.get("code", "").split(",") if "|" in t}
        matches = [r for r in self.by_type.get(kind, [])
                   if (not wanted or resource_codes(r) & wanted)
                   and ("status" not in params or r.get("status") == params["status"])]
        return 200, {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
                     "entry": [{"resource": r, "search": {"mode": "match"}} for r in matches]}

    def __enter__(self) -> "FhirStub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
