"""Session fixtures for the real-server tests: a FHIR server with the sandbox loaded, the service, one smoke run.

FHIR_BASE_URL set (``FHIR_BASE_URL=... make integration``): the tests use that server (and FHIR_TOKEN, if set)
instead of starting sekmet. Everything started here is stopped at the end of the session.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest

from tests.integration.servers import Server, run_cli, start_service, start_sekmet


@pytest.fixture(scope="session")
def fhir_server(tmp_path_factory):
    external = os.environ.get("FHIR_BASE_URL", "").strip()
    if external:
        yield Server(external.rstrip("/"), token=os.environ.get("FHIR_TOKEN") or None)
        return
    server = start_sekmet(tmp_path_factory.mktemp("sekmet"))
    yield server
    server.stop()


def _token_args(server: Server) -> list[str]:
    return ["--token", server.token] if server.token else []


@pytest.fixture(scope="session")
def loaded(fhir_server):
    """The sandbox loaded twice, as a user re-running the loader would: (first run, second run)."""
    first = run_cli("load-sandbox", "--fhir-base", fhir_server.base_url, *_token_args(fhir_server))
    second = run_cli("load-sandbox", "--fhir-base", fhir_server.base_url, *_token_args(fhir_server))
    return first, second


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    server = start_service(tmp_path_factory.mktemp("service"))
    yield server
    server.stop()


@dataclass
class SmokeRun:
    returncode: int
    output: str
    report: dict

    def calls(self, **where) -> list[dict]:
        return [c for c in self.report["calls"] if all(c[k] == v for k, v in where.items())]


@pytest.fixture(scope="session")
def smoke(fhir_server, loaded, service, tmp_path_factory):
    """One ``smoke`` run over every sandbox patient and hook, in both modes."""
    assert loaded[0].returncode == 0, loaded[0].stdout + loaded[0].stderr
    report_path = tmp_path_factory.mktemp("smoke") / "report.json"
    result = run_cli("smoke", "--fhir-base", fhir_server.base_url, "--service", service.base_url,
                     "--report", str(report_path), *_token_args(fhir_server), timeout_s=300)
    report = json.loads(report_path.read_text()) if report_path.exists() else {"calls": [], "notes": []}
    return SmokeRun(result.returncode, result.stdout + result.stderr, report)
