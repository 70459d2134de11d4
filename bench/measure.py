"""Statistics, verdicts and /proc readings shared by every figure.

Every target is a ratio to a baseline measured in the same run, because the machines are shared and noisy;
CPU time is the main figure since it varies far less than wall time or requests per second.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p99: float

    @classmethod
    def of(cls, values: list[float]) -> "Summary":
        return cls(len(values), statistics.median(values), percentile(values, 99))

    def ms(self) -> str:
        return f"median {self.median * 1000:8.2f} ms  p99 {self.p99 * 1000:8.2f} ms  (n={self.n})"


@dataclass
class Figure:
    """One checked figure: ``value`` / ``baseline`` must stay at or under ``limit``."""

    section: str
    name: str
    value: float
    baseline: float
    limit: float
    details: list[str] = field(default_factory=list)
    passed_override: bool | None = None   # for checks that are not a ratio (errors, RSS drift...)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")

    @property
    def passed(self) -> bool:
        return self.passed_override if self.passed_override is not None else self.ratio <= self.limit

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        if self.passed_override is not None and not self.baseline:
            return f"[{verdict}] {self.section} {self.name}"
        return (f"[{verdict}] {self.section} {self.name}: {self.ratio:.2f}x "
                f"(target <= {self.limit:g}x; {self.value:.3f} vs {self.baseline:.3f})")


def check(section: str, name: str, ok: bool, details: list[str] | None = None) -> Figure:
    """A pass/fail check that is not a ratio (no errors, same cards, RSS stable...)."""
    return Figure(section, name, 0.0, 0.0, 0.0, details or [], passed_override=ok)


def time_calls(call: Callable[[], object], runs: int, warmup: int = 3) -> tuple[list[float], list[float]]:
    """Run ``call`` warmup + runs times in this thread; (CPU seconds, wall seconds) of each measured run."""
    for _ in range(warmup):
        call()
    cpu, wall = [], []
    for _ in range(runs):
        c0, w0 = time.thread_time(), time.perf_counter()
        call()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return cpu, wall


# --------------------------------------------------------------------------- /proc

def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        raw = handle.read()
    return raw[raw.rindex(")") + 2:].split()   # fields after "pid (comm) ", comm may hold spaces


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (gunicorn master and workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (all their threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])   # utime, stime (stat fields 14 and 15)
    return total / _TICK


def tree_cpu_seconds(root: int) -> float:
    return cpu_seconds(process_tree(root))


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE
