"""The load generator for the HTTP figures: threads, each with one keep-alive http.client connection.

Why not wrk: when wrk's time is up it drops the requests still in flight, which the server then finishes (or
half-reads) without their being counted, so server CPU per request cannot be divided exactly. Here each thread
finishes its last request before stopping, so every request the server worked on is counted and the server is
idle when the run returns. Only loopback URLs are ever targeted.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .measure import percentile

@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_s: float
    p99_s: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _loopback(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"the benchmark only loads loopback servers, not {parts.hostname}")
    return parts.hostname, parts.port or 80, parts.path or "/"


class _Budget:
    """Shared stop condition: a deadline, a request count, or both."""

    def __init__(self, seconds: float | None, count: int | None):
        self.deadline = time.perf_counter() + seconds if seconds else None
        self.left = count
        self.lock = threading.Lock()

    def take(self) -> bool:
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return False
        if self.left is None:
            return True
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def run_python(url: str, body: bytes, *, seconds: float | None = None, count: int | None = None,
               connections: int = 16, reconnect_every: int | None = None) -> LoadResult:
    """Threads with one keep-alive http.client connection each, until ``seconds`` pass or ``count`` are sent.

    ``reconnect_every``: open a new connection after that many requests, so that the server's workers, which
    each accept whole connections, share the requests evenly (for per-worker readings such as memory).
    """
    if seconds is None and count is None:
        raise ValueError("give seconds, count or both")
    host, port, path = _loopback(url)
    budget = _Budget(seconds, count)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}

    def worker() -> None:
        conn, mine, failed = http.client.HTTPConnection(host, port, timeout=60), [], 0
        while budget.take():
            if reconnect_every and mine and len(mine) % reconnect_every == 0:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
            started = time.perf_counter()
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
                mine.append(time.perf_counter() - started)
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    p50, p99 = (percentile(latencies, 50), percentile(latencies, 99)) if latencies else (0.0, 0.0)
    return LoadResult(len(latencies), errors[0], time.perf_counter() - started, p50, p99)
