"""One-line JSON log records. Callers pass structured fields as ``extra={"event": {...}}``.

The toolkit only ever puts hookInstance, service, hook, issuer, tenant, timings, counts and outcomes in an
event: never a token, a JWT, a name, a birth date or an identifier.
"""

from __future__ import annotations

import json
import logging
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
                   "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        event = getattr(record, "event", None)
        if isinstance(event, dict):
            payload.update(event)
        return json.dumps(payload, default=str, separators=(",", ":"))


def configure_json_logging(level: str = "INFO", *, production: bool = False) -> None:
    """Install one JSON handler on the root logger (replacing one installed earlier, leaving others alone)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler._cds_json = True  # marks the handler this function owns
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_cds_json", False)] + [handler]
    root.setLevel(level.upper())
    # A handler that fails while logging an error would print the record's exception text, which could quote
    # request data, to stderr: in production such failures are dropped silently instead.
    logging.raiseExceptions = not production
    # urllib3 logs request URLs, which carry patient ids (``?patient=...``), at DEBUG and on retries.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
