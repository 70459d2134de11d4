"""`make bench`: the performance figures of issue 8, each a ratio to a baseline measured in this same run.

Prints every figure with its target and PASS/FAIL, exits 1 on any FAIL, and keeps the output in
bench/out/last-run.txt. Options: --quick (tiny counts, to check the machinery), --in-process (figures 1 and 3
only), --profile (cProfile of the in-process light and heavy calls, nothing else).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import httpbench, inprocess, workloads  # noqa: E402
from bench.measure import Figure, check  # noqa: E402

OUT = ROOT / "bench" / "out"
TIME_LIMIT_S = 300


@dataclass(frozen=True)
class Plan:
    light_runs: int = 300
    heavy_runs: int = 40
    no_prefetch_runs: int = 20
    stub_delay_s: float = 0.1
    http_seconds: float = 4
    http_rounds: int = 3
    http_warmup_s: float = 3
    spawns: int = 5
    memory_first: int = 1000
    memory_total: int = 10000
    profile_runs: tuple[int, int] = (200, 20)


QUICK = Plan(light_runs=3, heavy_runs=2, no_prefetch_runs=2, stub_delay_s=0.01, http_seconds=1, http_rounds=1,
             http_warmup_s=1, spawns=1, memory_first=20, memory_total=40, profile_runs=(3, 1))


class Report:
    """Prints as it goes and keeps every line for bench/out/last-run.txt."""

    def __init__(self):
        self.lines: list[str] = []

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def figures(self, figures: list[Figure]) -> None:
        for figure in figures:
            self.say(figure.line())
            for detail in figure.details:
                self.say("    " + detail.replace("\n", "\n    "))


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _header(report: Report) -> None:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    report.say(f"inotuzumab-cds benchmark  {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}  commit {_commit()}")
    report.say(f"machine: {cores} cores ({usable} usable), {platform.machine()}, Python {platform.python_version()}, "
               "load generator: Python threads, http.client keep-alive, on the same machine")


def _guarded(report: Report, section: str, run) -> list[Figure]:
    """A phase that crashes is a FAIL with its error, and the other phases still run."""
    try:
        figures = run()
    except Exception as exc:  # noqa: BLE001 - reported, never hidden
        report.say("".join(traceback.format_exception(exc))[-2000:])
        figures = [check(section, f"could not be measured: {type(exc).__name__}: {exc}", False)]
    report.figures(figures)
    return figures


def _workloads(report: Report, anchor: datetime) -> dict:
    templates = workloads.order_templates()
    w = {"templates": templates, "light": workloads.light(anchor, templates),
         "heavy": workloads.heavy(anchor, templates)}
    for label in ("light", "heavy"):
        w[f"{label}_raw"] = raw = workloads.encode(w[label])
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(workloads.count_resources(w[label]).items()))
        report.say(f"workload {label}: {len(raw) / 1e6:.2f} MB, {counts}")
    report.say(f"workload no-prefetch: the light request without its {len(templates)} prefetch keys, "
               f"fetched from a loopback FHIR stub")
    return w


def run(plan: Plan, *, in_process_only: bool) -> tuple[Report, list[Figure]]:
    report, started = Report(), time.perf_counter()
    _header(report)
    anchor = datetime.now(timezone.utc)
    figures: list[Figure] = []
    w = _workloads(report, anchor)
    light_raw, heavy_raw = w["light_raw"], w["heavy_raw"]
    with inprocess.temp_dir() as tmp:
        report.say(f"temp SQLite databases and logs: {tmp}")
        report.say("\n== 1. in-process (Flask test client), CPU time per request (wall beside it)")
        apps = inprocess.make_apps(tmp)
        figures += _guarded(report, "1 in-process", lambda: inprocess.figure_1(
            apps, light_raw, heavy_raw, plan.light_runs, plan.heavy_runs))
        report.say("\n== 3. no-prefetch: every key fetched from a FHIR stub answering after "
                   f"{plan.stub_delay_s * 1000:.0f} ms")
        figures += _guarded(report, "3 no-prefetch", lambda: inprocess.figure_3(
            apps, w["light"], workloads.light_resources(anchor), lambda url: workloads.no_prefetch(url, anchor),
            plan.no_prefetch_runs, w["templates"], plan.stub_delay_s))
        if not in_process_only:
            memory = httpbench.Memory(plan.memory_first, plan.memory_total)
            report.say("\n== 2. over HTTP: gunicorn -c gunicorn.conf.py, service vs echo app, concurrency 16")
            figures += _guarded(report, "2 http", lambda: httpbench.figure_2(
                tmp, {"light": light_raw, "heavy": heavy_raw}, plan.http_seconds, plan.http_warmup_s,
                plan.http_rounds, memory))
            report.say("\n== 4. start-up, and memory (RSS read on the figure 2 service server)")
            figures += _guarded(report, "4 start-up", lambda: httpbench.figure_4(tmp, plan.spawns) + [memory.figure()])
    elapsed = time.perf_counter() - started
    figures.append(check("run", f"whole run under {TIME_LIMIT_S // 60} minutes ({elapsed:.0f} s)",
                         elapsed < TIME_LIMIT_S))
    report.say("\n== summary")
    for figure in figures:
        report.say(figure.line())
    failed = sum(not f.passed for f in figures)
    report.say(f"{len(figures) - failed} passed, {failed} failed")
    return report, figures


def profile(plan: Plan) -> str:
    anchor = datetime.now(timezone.utc)
    templates = workloads.order_templates()
    parts = []
    with inprocess.temp_dir() as tmp:
        apps = inprocess.make_apps(tmp)
        for label, body, runs in (("light", workloads.light(anchor, templates), plan.profile_runs[0]),
                                  ("heavy", workloads.heavy(anchor, templates), plan.profile_runs[1])):
            parts.append(f"==== {label} (commit {_commit()})\n"
                         + inprocess.profile(apps, workloads.encode(body), runs))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the machinery, not the figures")
    parser.add_argument("--in-process", action="store_true", help="figures 1 and 3 only (no gunicorn)")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process light and heavy paths")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else Plan()
    OUT.mkdir(exist_ok=True)
    if args.profile:
        text = profile(plan)
        (OUT / "profile.txt").write_text(text + "\n")
        print(text)
        return 0
    report, figures = run(plan, in_process_only=args.in_process)
    (OUT / ("last-run-quick.txt" if args.quick else "last-run.txt")).write_text("\n".join(report.lines) + "\n")
    return 0 if all(f.passed for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
