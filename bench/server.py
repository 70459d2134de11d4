"""Start and stop gunicorn with the repository's production config (gunicorn.conf.py), on a loopback port.

The service and the echo baseline get the same config and environment; only the WSGI app differs.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .measure import process_tree

ROOT = Path(__file__).resolve().parent.parent
SERVICE_APP = ("service.wsgi:app",)
ECHO_APP = ("--pythonpath", str(ROOT / "bench"), "echo_app:app")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn() -> str:
    candidate = Path(sys.executable).with_name("gunicorn")
    return str(candidate) if candidate.exists() else "gunicorn"


class Gunicorn:
    """``with Gunicorn(SERVICE_APP, workdir) as server: server.url(path)``; start-up time in ``ready_after``."""

    def __init__(self, app: tuple[str, ...], workdir: str, env: dict[str, str] | None = None):
        self.app = app
        self.port = free_port()
        self.log_path = Path(workdir) / f"gunicorn-{app[-1].split(':')[0]}-{self.port}.log"
        self.env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "CDS_AUTH_DISABLED": "1",
                    "DATABASE_URL": f"sqlite:///{workdir}/cds-{self.port}.sqlite3", **(env or {})}
        self.env.pop("PYTHONPATH", None)
        self.env["PYTHONPATH"] = str(ROOT)
        self.process: subprocess.Popen | None = None
        self.ready_after: float | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 90) -> float:
        """Spawn and wait for ``/readyz`` to answer 200; returns seconds from spawn to ready."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        started = time.perf_counter()
        self.process = subprocess.Popen([_gunicorn(), "-c", str(ROOT / "gunicorn.conf.py"), *self.app],
                                        cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            if self._ready():
                self.ready_after = time.perf_counter() - started
                return self.ready_after
            time.sleep(0.005)
        raise RuntimeError(f"not ready after {timeout} s; see {self.log_path}")

    def _ready(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def workers(self) -> list[int]:
        return [pid for pid in process_tree(self.pid) if pid != self.pid]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def __enter__(self) -> "Gunicorn":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
