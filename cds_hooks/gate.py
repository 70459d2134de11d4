"""One hook call's CPU-bound work at a time per process, network waits outside.

A threaded worker (gunicorn ``gthread``) runs Python one thread at a time anyway (the GIL). Left to the GIL, a
call's decoding, record building and rules are sliced every few milliseconds and interleaved with other calls'
multi-MB JSON decoding, which evicts the first call's data from the CPU caches and keeps more request bodies
alive at once. Measured on the heavy benchmark request (bench/RESULTS.md), running each call's CPU-bound steps
as one uninterrupted section cut the service's CPU per request by about 10%. No throughput is lost: the GIL
already allowed only one of those sections to run at a time.

The gate is released around everything that waits: reading the request body, prefetch fetches from the FHIR
server, audit writes and sending the response. Service handlers and ``applies`` checks run inside it and so must
not do network I/O themselves (registry.py).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class CpuGate:
    """``with gate.held(): ... with gate.released(): <network wait> ...``"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner = threading.local()

    @contextmanager
    def held(self) -> Iterator[None]:
        self._lock.acquire()
        self._owner.held = True
        try:
            yield
        finally:
            self._owner.held = False
            self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let other calls run during a wait; a no-op when this thread does not hold the gate."""
        if not getattr(self._owner, "held", False):
            yield
            return
        self._owner.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._owner.held = True
