"""Real servers for the integration tests, on loopback: a FHIR server (sekmet, in its own virtualenv) and the
service under gunicorn. Each is started as a subprocess, polled until ready (bounded), and stopped by its pid.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
SEKMET_VENV = REPO / ".cache" / "sekmet-venv"
SEKMET_REQUIREMENTS = Path(__file__).with_name("sekmet-requirements.txt")
READY_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log when it dies or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout_s} s:\n{log.read_text()[-3000:]}")


def ensure_sekmet() -> Path:
    """The sekmet executable, installing the pinned requirements into .cache/sekmet-venv when they changed."""
    marker = SEKMET_VENV / ".requirements-sha256"
    wanted = hashlib.sha256(SEKMET_REQUIREMENTS.read_bytes()).hexdigest()
    executable = SEKMET_VENV / "bin" / "sekmet"
    if executable.exists() and marker.exists() and marker.read_text() == wanted:
        return executable
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(SEKMET_VENV)], check=True)
    subprocess.run([str(SEKMET_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", str(SEKMET_REQUIREMENTS)], check=True)
    marker.write_text(wanted)
    return executable


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen | None = None
    log: Path | None = None
    token: str | None = None
    extra: dict = field(default_factory=dict)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _spawn(command: list[str], *, env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def start_sekmet(workdir: Path) -> Server:
    """sekmet-fhir on a free loopback port with a fresh SQLite database; its simulator off (it would react to
    active MedicationRequests by dispensing them)."""
    executable = ensure_sekmet()
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    config = workdir / "settings.yaml"
    config.write_text("simulator:\n  enabled: false\nlog_inbound: false\n")
    env = {**os.environ, "SEKMET_CONFIG": str(config), "SEKMET_DB": str(workdir / "sekmet.db"),
           "SEKMET_BASE_URL": base}
    log = workdir / "sekmet.log"
    process = _spawn([str(executable), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=workdir,
                     log=log)
    server = Server(base, process, log)
    try:
        wait_ready(f"{base}/metadata", process, log)
    except Exception:
        server.stop()
        raise
    return server


def start_service(workdir: Path) -> Server:
    """The service as deployed (gunicorn, gunicorn.conf.py), with client JWT checks off and http/loopback FHIR
    allowed. Prefetch deadlines are raised from 0.4 s so a busy 2-core CI machine cannot time a fetch out."""
    port = free_port()
    env = {**os.environ, "CDS_AUTH_DISABLED": "1", "CDS_PRODUCTION": "0",
           "DATABASE_URL": f"sqlite:///{workdir / 'cds.sqlite3'}", "GUNICORN_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "CDS_ALLOW_HTTP_FHIR": "1", "CDS_ALLOW_PRIVATE_FHIR": "1",
           "CDS_PREFETCH_DEADLINE_S": "3", "CDS_FHIR_TIMEOUT_S": "3", "LOG_LEVEL": "WARNING"}
    log = workdir / "service.log"
    process = _spawn([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"], env=env,
                     cwd=REPO, log=log)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_ready(f"{server.base_url}/readyz", process, log)
    except Exception:
        server.stop()
        raise
    return server


def run_cli(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    """``python -m service ...`` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, "PYTHONPATH": str(REPO)})
