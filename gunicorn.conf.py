"""Production serving configuration (also used by `make run`). Environment: WEB_CONCURRENCY, GUNICORN_THREADS."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 10
keepalive = 5
preload_app = False  # each worker builds its own app (thread pools and DB pools must not cross a fork)
accesslog = None     # the app logs one structured line per call; URLs carry no PHI but stay out anyway
errorlog = "-"
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))


def post_worker_init(worker):
    """Freeze the start-up heap (knowledge, models, imports) out of the garbage collector's scans and collect
    young objects less often: a multi-MB hook request allocates ~10^5 containers, and without this each one
    triggers full collections that re-scan the whole heap. Not too seldom either: werkzeug's URL matcher leaves
    a small reference cycle on every request, and at 50,000 these piled up for ~6,000 requests before a
    collection, so a worker's memory crept up for that long. 20,000 measured as cheap as 50,000 on the heavy
    request and halved the creep (bench/RESULTS.md)."""
    import gc
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
