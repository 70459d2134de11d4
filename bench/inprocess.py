"""Figures 1 and 3 and the profile: the service and its baselines called through Flask's test client.

Calls are interleaved (service, floor, service, floor...) so a noisy neighbour slows both sides alike, and the
heap built at start-up is frozen out of the garbage collector's reach (see ``freeze_heap``).
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import logging
import os
import pstats
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

from .echo_app import create_echo_app, create_parse_floor_app
from .measure import Figure, Summary, check, time_calls
from .workloads import PATIENT_ID, SERVICE_ID, encode

PATH = f"/cds-services/{SERVICE_ID}"


def service_app(tmpdir: str):
    """The real app: auth off, a temp SQLite file, JSON logs formatted as usual but written to /dev/null."""
    from service.app import create_app
    from service.settings import Settings
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the app
    with contextlib.redirect_stderr(sink):   # the log handler is created inside create_app, on sys.stderr
        app = create_app(Settings(auth_disabled=True, database_url=f"sqlite:///{tmpdir}/cds.sqlite3"))
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_cds_json", False):
            handler.setStream(sink)
    return app


def poster(app, body: bytes) -> Callable[[], dict]:
    client = app.test_client()

    def call() -> dict:
        response = client.post(PATH, data=body, content_type="application/json")
        if response.status_code != 200:
            raise RuntimeError(f"{app.name} answered HTTP {response.status_code}: {response.get_data()[:300]!r}")
        return response.get_json()
    return call


def freeze_heap() -> None:
    """Move every object alive now to the GC's permanent generation.

    All the apps share this process, so without this a full collection triggered by one call (a 3 MB body
    allocates ~10^5 containers) would scan the service's heap even when the call is the floor's, and charge
    it to the floor. Frozen, each call pays for collecting its own allocations only, as a worker that
    froze its heap after start-up would; the HTTP figures show the unfrozen reality of each process.
    """
    gc.collect()
    gc.freeze()


def interleaved(calls: dict[str, Callable[[], object]], runs: int, warmup: int = 3) -> dict[str, tuple[list, list]]:
    """(CPU seconds, wall seconds) per call name, measuring the calls alternately after a warm-up."""
    results: dict[str, tuple[list, list]] = {name: ([], []) for name in calls}
    for name, call in calls.items():
        time_calls(call, 0, warmup)
    freeze_heap()
    for _ in range(runs):
        for name, call in calls.items():
            cpu, wall = time_calls(call, 1, 0)
            results[name][0].append(cpu[0])
            results[name][1].append(wall[0])
    return results


def _describe(label: str, cpu: list[float], wall: list[float]) -> str:
    return f"{label:<28} cpu {Summary.of(cpu).ms()}\n{'':<28} wall {Summary.of(wall).ms()}"


@dataclass
class Apps:
    service: object
    echo: object
    parse_floor: object


def make_apps(tmpdir: str) -> Apps:
    return Apps(service_app(tmpdir), create_echo_app(), create_parse_floor_app())


def figure_1(apps: Apps, light: bytes, heavy: bytes, light_runs: int, heavy_runs: int) -> list[Figure]:
    figures = []
    for label, body, runs, floor_name, limit in (("light", light, light_runs, "parse floor", 2.0),
                                                 ("heavy", heavy, heavy_runs, "floor", 1.5)):
        calls = {"service": poster(apps.service, body), "floor": poster(apps.echo, body)}
        if label == "light":  # validating all 2,000+ heavy resources takes ~0.4 s a call and has no target
            calls["parse floor"] = poster(apps.parse_floor, body)
        res = interleaved(calls, runs)
        details = [_describe(f"{label} {name}", *res[name]) for name in calls]
        med = {name: Summary.of(res[name][0]).median for name in calls}
        details.append(f"{label}: " + ", ".join(f"service/{name} {med['service'] / med[name]:.2f}x"
                                                for name in calls if name != "service") + " (CPU medians)")
        figures.append(Figure("1 in-process", f"{label} CPU/request vs {floor_name}", med["service"],
                              med[floor_name], limit, details))
        cards = len(calls["service"]().get("cards", []))
        figures.append(check("1 in-process", f"{label}: the order was assessed ({cards} cards), not skipped",
                             cards > 0))
    return figures


def _card_key(response: dict) -> list[tuple]:
    return [(c.get("indicator"), c.get("summary"), c.get("detail")) for c in response.get("cards", [])]


def figure_3(apps: Apps, light_body: dict, stub_resources: list[dict], no_prefetch: Callable[[str], dict],
             runs: int, templates: dict[str, str], delay_s: float = 0.1) -> list[Figure]:
    """No prefetch: every key fetched from a loopback FHIR server that answers after ``delay_s``."""
    import requests

    from cds_hooks.fhir import FhirClient, FhirLimits

    from .fhir_stub import FhirStub
    with FhirStub(stub_resources, delay_s) as stub:
        body = no_prefetch(stub.base_url)
        call = poster(apps.service, encode(body))
        _, wall = time_calls(call, runs, warmup=2)
        fetched = call()
        client = FhirClient(stub.base_url, None, requests.Session(), FhirLimits(timeout_s=5))
        queries = [t.replace("{{context.patientId}}", PATIENT_ID) for t in templates.values()]
        singles = [min(time_calls(lambda q=q: client.get(q), 3, 1)[1]) for q in queries]
        serial = time_calls(lambda: [client.get(q) for q in queries], 3, 1)[1]
    slowest = max(singles)
    total = Summary.of(wall)
    details = [f"no-prefetch total            wall {total.ms()}",
               f"slowest single query         {slowest * 1000:.2f} ms (stub delay {delay_s * 1000:.0f} ms, "
               f"{len(queries)} queries)",
               f"serial baseline (one by one) wall {Summary.of(serial).ms()}",
               f"median total / serial        {total.median / Summary.of(serial).median:.2f}x"]
    light_cards = poster(apps.service, encode(light_body))()
    same = _card_key(fetched) == _card_key(light_cards)
    return [Figure("3 no-prefetch", "total latency vs slowest single query", total.median, slowest, 1.3, details),
            check("3 no-prefetch", f"fetched data gives the same cards as the light prefetch ({'yes' if same else 'no'})",
                  same)]


def _where(filename: str, line: int, function: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{line}:{function}"


def profile(apps: Apps, body: bytes, runs: int, top: int = 25) -> str:
    """cProfile (CPU clock) of ``runs`` in-process calls: top functions by own time, then by cumulative time."""
    call = poster(apps.service, body)
    time_calls(call, 0, 3)
    freeze_heap()
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for _ in range(runs):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # {(file, line, func): (primitive calls, calls, own, cumulative, callers)}
    total = sum(own for _, _, own, _, _ in stats.values()) or 1.0
    lines = [f"{runs} calls, {total / runs * 1000:.2f} ms CPU per call profiled"]
    for title, index in (("own time", 2), ("cumulative time", 3)):
        lines.append(f"-- top {top} by {title} (ms per call, share of total) --")
        ranked = sorted(stats.items(), key=lambda item: item[1][index], reverse=True)[:top]
        for (filename, line, function), values in ranked:
            lines.append(f"{values[index] / runs * 1000:9.3f} ms {values[index] / total * 100:5.1f}%  "
                         f"{values[1] / runs:8.0f} calls  {_where(filename, line, function)}")
    return "\n".join(lines)


def temp_dir() -> tempfile.TemporaryDirectory:
    """Where the temp SQLite databases live: tmpfs when there is one.

    Every hook call commits an audit row; on a shared disk each commit waits for fsync (and the two workers
    for each other's write lock), which halves HTTP throughput with no CPU behind it. Production uses
    PostgreSQL; the figures here are about CPU, so the disk is kept out of them.
    """
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix="cds-bench-", dir=base)
