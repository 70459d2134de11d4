"""Figures 2 and 4: the service under gunicorn (production config) beside the echo app under the same config.

Server CPU per request is read from /proc (utime + stime of the master and every worker) around a fixed-length
load run that follows a warm-up, so the load generator's own CPU is never counted. The load generator runs on
the same cores, so throughput and latency are lower than a separate client machine would see; the CPU ratios,
the targets, do not depend on that.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from .load import LoadResult, run_python
from .measure import Figure, check, rss_bytes, tree_cpu_seconds
from .server import ECHO_APP, SERVICE_APP, Gunicorn
from .workloads import SERVICE_ID

PATH = f"/cds-services/{SERVICE_ID}"


@dataclass(frozen=True)
class HttpRun:
    load: LoadResult
    cpu_s: float

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_s / self.load.requests if self.load.requests else float("inf")

    def line(self, label: str) -> str:
        r = self.load
        return (f"{label:<16} {r.throughput:8.1f} req/s  p50 {r.p50_s * 1000:8.2f} ms  p99 {r.p99_s * 1000:8.2f} ms  "
                f"errors {r.errors:<4} server CPU {self.cpu_per_request * 1000:8.3f} ms/request "
                f"({r.requests} requests)")


def measured_run(server: Gunicorn, body: bytes, warmup_s: float, seconds: float) -> HttpRun:
    """Warm up, then a fixed-length run; the server is idle at both CPU readings (every request answered)."""
    if warmup_s:
        run_python(server.url(PATH), body, seconds=warmup_s)
    before = tree_cpu_seconds(server.pid)
    result = run_python(server.url(PATH), body, seconds=seconds)
    return HttpRun(result, tree_cpu_seconds(server.pid) - before)


def interleaved(echo: Gunicorn, service: Gunicorn, body: bytes, rounds: int, seconds: float) -> dict[str, list]:
    """``rounds`` runs of each server, alternating echo and service, so that both meet the same moments of a
    shared, noisy machine; the figure takes the median of each server's rounds."""
    runs: dict[str, list[HttpRun]] = {"echo": [], "service": []}
    for _ in range(rounds):
        runs["echo"].append(measured_run(echo, body, 0, seconds))
        runs["service"].append(measured_run(service, body, 0, seconds))
    return runs


def _median_cpu(runs: list[HttpRun]) -> float:
    return statistics.median(run.cpu_per_request for run in runs)


def _rss(server: Gunicorn) -> dict[int, int]:
    return {pid: rss_bytes(pid) for pid in server.workers()}


@dataclass
class Memory:
    """RSS per worker after the first light requests and after the total (the light runs count towards it)."""

    first: int
    total: int
    served: int = 0
    errors: int = 0
    after_first: dict[int, int] | None = None
    after_total: dict[int, int] | None = None

    def figure(self) -> Figure:
        before, after = self.after_first or {}, self.after_total or {}
        drift = {pid: after[pid] / before[pid] - 1 for pid in before if pid in after}
        worst = max(drift.values(), key=abs) if drift else float("inf")
        lines = [f"worker {pid}: RSS {before[pid] / 2**20:.1f} MiB after {self.first} requests, "
                 f"{after[pid] / 2**20:.1f} MiB after {self.served} ({drift[pid] * 100:+.1f}%)" for pid in drift]
        ok = bool(drift) and abs(worst) <= 0.05 and self.errors == 0 and set(before) == set(after)
        return check("4 memory", f"RSS per worker after {self.served} light requests within 5% of after "
                                 f"{self.first} (worst {worst * 100:+.1f}%, errors {self.errors})", ok, lines)


def figure_2(workdir: str, bodies: dict[str, bytes], seconds: float, warmup_s: float, rounds: int,
             memory: Memory) -> list[Figure]:
    """Figure 2, and the memory half of figure 4 measured on the same service server (its light runs count
    towards the memory total)."""
    figures: list[Figure] = []
    limits = {"light": 15.0, "heavy": 1.5}
    with Gunicorn(ECHO_APP, workdir) as echo, Gunicorn(SERVICE_APP, workdir) as service:
        workers = len(service.workers())
        url = service.url(PATH)
        for label in ("light", "heavy"):
            body = bodies[label]
            run_python(echo.url(PATH), body, seconds=warmup_s)
            if label == "light":  # the warm-up is the memory run's first requests, evenly spread over the workers
                warm = run_python(url, body, count=memory.first, reconnect_every=25)
                memory.after_first = _rss(service)
            else:
                run_python(url, body, seconds=warmup_s)
            runs = interleaved(echo, service, body, rounds, seconds)
            if label == "light":
                served = warm.requests + sum(r.load.requests for r in runs["service"])
                rest = run_python(url, body, count=max(1, memory.total - served), reconnect_every=25)
                memory.after_total = _rss(service)
                memory.served = served + rest.requests
                memory.errors = warm.errors + rest.errors + sum(r.load.errors for r in runs["service"])
            details = [run.line(f"{label} {name} #{i + 1}") for i in range(rounds)
                       for name, run in (("echo", runs["echo"][i]), ("service", runs["service"][i]))]
            details.append(f"gunicorn.conf.py: {workers} workers per server, concurrency 16, {rounds} alternating "
                           f"rounds of {seconds:g} s per server after a warm-up; the figure compares the medians")
            figures.append(Figure("2 http", f"{label} server CPU/request vs echo", _median_cpu(runs["service"]),
                                  _median_cpu(runs["echo"]), limits[label], details))
            errors = {name: sum(run.load.errors for run in server_runs) for name, server_runs in runs.items()}
            answered = all(run.load.requests > 0 for run in runs["service"])
            figures.append(check("2 http", f"{label}: no errors (service {errors['service']}, echo {errors['echo']})",
                                 errors["service"] == 0 and errors["echo"] == 0 and answered))
    return figures


def startup_times(workdir: str, app: tuple[str, ...], spawns: int) -> list[float]:
    times = []
    for _ in range(spawns):
        server = Gunicorn(app, workdir)
        try:
            times.append(server.start())
        finally:
            server.stop()
    return times


def figure_4(workdir: str, spawns: int) -> list[Figure]:
    """Start-up: spawn to the first 200 from /readyz, the service against the echo app (medians)."""
    echo_times = startup_times(workdir, ECHO_APP, spawns)
    service_times = startup_times(workdir, SERVICE_APP, spawns)
    echo_s, service_s = statistics.median(echo_times), statistics.median(service_times)
    details = [f"spawn -> /readyz 200: service median {service_s * 1000:.0f} ms "
               f"({', '.join(f'{t * 1000:.0f}' for t in service_times)}), echo median {echo_s * 1000:.0f} ms "
               f"({', '.join(f'{t * 1000:.0f}' for t in echo_times)})"]
    return [Figure("4 start-up", "spawn to ready vs echo app", service_s, echo_s, 5.0, details)]
