"""A throwaway PostgreSQL for the storage tests: initdb into a temporary directory, start it on a free
loopback port (and a private unix socket directory), stop and delete it at the end.

Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin (tests/support/ensure-postgres.sh
installs the package). initdb refuses to run as root, so as root the server runs as the ``postgres`` user the
package creates. Authentication is ``trust``, acceptable only because the server listens on 127.0.0.1 and
lives for one test session.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be run here; the message says why."""


def find_binary(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0, reverse=True)
    return candidates[0] if candidates else shutil.which(name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(command[:4])}... failed: {(done.stderr or done.stdout)[-800:]}")


@dataclass
class PostgresServer:
    base: str
    port: int
    run_as: list[str]
    pg_ctl: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls) -> "PostgresServer":
        """:raise PostgresUnavailable: binaries, driver or the postgres user missing, or the server did not start."""
        initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise PostgresUnavailable("PostgreSQL server binaries not found: install Debian's 'postgresql' package "
                                      "(tests/support/ensure-postgres.sh does it as root)")
        try:
            import psycopg  # noqa: F401 - the driver SQLAlchemy will use
        except ImportError as exc:
            raise PostgresUnavailable("the psycopg driver is not installed (pip install -e '.[postgres]')") from exc
        base = tempfile.mkdtemp(prefix="cds-pg-")
        run_as: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root and there is no 'postgres' user to run initdb") from exc
            os.chown(base, account.pw_uid, account.pw_gid)
            run_as = ["runuser", "-u", "postgres", "--"]
        server = cls(base, _free_port(), run_as, pg_ctl)
        try:
            _run(run_as + [initdb, "-D", f"{base}/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            options = (f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories={base} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
            _run(run_as + [pg_ctl, "-D", f"{base}/data", "-l", f"{base}/server.log", "-w", "-t", "60",
                           "-o", options, "start"])
        except (PostgresUnavailable, OSError, subprocess.TimeoutExpired):
            shutil.rmtree(base, ignore_errors=True)
            raise
        return server

    def stop(self) -> None:
        subprocess.run(self.run_as + [self.pg_ctl, "-D", f"{self.base}/data", "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)
