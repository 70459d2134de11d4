"""docker-compose.yml, the Dockerfile and the Makefile target, checked by reading them (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _env(service: dict) -> dict:
    return service.get("environment") or {}


def _container_ports(service: dict) -> list[tuple[str, str]]:
    return [tuple(str(p).rsplit(":", 1)) for p in service.get("ports") or ()]


def test_the_stack_has_the_service_its_database_a_fhir_server_and_a_loader(services):
    assert {"service", "db", "fhir", "loader"} <= set(services)


@pytest.mark.parametrize("name", ["db", "fhir"])
def test_third_party_images_are_pinned_to_a_tag(services, name):
    image, _, tag = services[name]["image"].partition(":")
    assert tag and tag != "latest", services[name]["image"]


def test_the_fhir_server_is_hapi_r4(services):
    assert services["fhir"]["image"].startswith("hapiproject/hapi:v")
    assert _env(services["fhir"])["HAPI_FHIR_FHIR_VERSION"] == "R4"


def test_the_service_is_built_here_checks_readiness_and_stores_feedback_in_postgres(services):
    service = services["service"]
    assert service["build"] == "."
    assert "/readyz" in " ".join(service["healthcheck"]["test"])
    url = urlsplit(_env(service)["DATABASE_URL"])
    assert url.scheme.startswith("postgresql") and url.hostname == "db"
    assert url.path.lstrip("/") == _env(services["db"])["POSTGRES_DB"]
    assert service["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])


def test_two_replicas_can_publish_their_port(services):
    """`docker compose up --scale service=2` needs a host port range with room for two."""
    (host, container), = _container_ports(services["service"])
    low, _, high = host.partition("-")
    assert container == _env(services["service"])["GUNICORN_BIND"].rsplit(":", 1)[1]
    assert high and int(high) - int(low) >= 1


def test_the_loader_runs_load_sandbox_against_the_compose_fhir_server_once(services):
    loader = services["loader"]
    command = loader["command"]
    assert command[:4] == ["python", "-m", "service", "load-sandbox"]
    base = urlsplit(command[command.index("--fhir-base") + 1])
    assert base.hostname == "fhir"
    (_, fhir_container_port), = _container_ports(services["fhir"])
    assert str(base.port) == fhir_container_port
    assert "--wait" in command, "HAPI has no healthcheck: the loader must wait for it"
    assert "fhir" in loader["depends_on"]
    assert loader["restart"] == "no"
    assert loader["image"] == services["service"]["image"]


def test_the_smoke_run_waits_for_a_healthy_service_and_a_finished_loader(services):
    smoke = services["smoke"]
    assert smoke["depends_on"]["service"]["condition"] == "service_healthy"
    assert smoke["depends_on"]["loader"]["condition"] == "service_completed_successfully"
    assert "smoke" in smoke["command"] and "http://service:8080" in smoke["command"]


def test_the_dockerfile_serves_with_gunicorn_as_a_non_root_user_and_ships_the_sandbox():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r'^CMD \["gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"\]', dockerfile, re.M)
    assert re.search(r"^USER \d+", dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK .*", dockerfile, re.M) and "/readyz" in dockerfile
    assert "EXPOSE 8080" in dockerfile and "COPY sandbox ./sandbox" in dockerfile
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".cache", "tests"} <= set(ignored)
    assert "sandbox" not in ignored and "README.md" not in ignored


def test_make_integration_passes_a_users_fhir_server_to_the_tests():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nintegration:", 1)[1].split("\n\n", 1)[0]
    assert 'FHIR_BASE_URL="$(FHIR_BASE_URL)"' in recipe and "-m integration tests/integration" in recipe
