"""The sandbox files: the manifest, the patient Bundles and draft orders, and how their dates are made current.

Dates: the files are written as if today were ``Bundle.timestamp`` (the anchor) and carry the sandbox tag
(``meta.tag`` code ``relative-dates``). ``materialise`` shifts every date-valued element by the whole number of days
between the anchor and today, keeping each value's precision and time of day. So a weight written 2 days before the
anchor is 2 days old on whatever day the patients are loaded, and the patients never go stale; re-running
``load-sandbox`` (idempotent) refreshes them.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

SANDBOX_URL = "https://sandbox.inotuzumab-cds.example"
SANDBOX_TAG = (f"{SANDBOX_URL}/CodeSystem/sandbox", "relative-dates")
MATERIALISED_ON = f"{SANDBOX_URL}/StructureDefinition/sandbox-materialised-on"
HOOKS = ("patient-view", "order-select", "order-sign")
ORDER_HOOKS = ("order-select", "order-sign")

# Every element of a date, dateTime or instant type the sandbox files use. A test checks that no date-looking
# string in the files sits under another name, so nothing escapes the shift.
DATE_KEYS = frozenset({
    "birthDate", "deceasedDateTime", "effectiveDateTime", "effectiveInstant", "issued", "recordedDate",
    "onsetDateTime", "abatementDateTime", "authoredOn", "performedDateTime", "occurrenceDateTime", "dateAsserted",
    "whenHandedOver", "date", "start", "end", "timestamp", "valueDate", "valueDateTime",
})
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(T.*)?$")

EXPECT_KEYS = frozenset({"cards", "indicator", "verdict", "criteria", "dosing", "premedication", "safety",
                         "mentions"})
INDICATORS = ("info", "warning", "critical")
VERDICTS = ("eligible", "not-eligible", "insufficient-data")
CRITERIA = ("age", "diagnosis", "cd22", "relapsedRefractory")
CRITERION_STATUSES = ("met", "not-met", "unknown")
SAFETY_IDS = ("hepatic-function", "vod-history", "prior-hsct", "blood-counts", "peripheral-blasts", "qt",
              "pregnancy", "treatment-course")


class ManifestError(ValueError):
    """The sandbox manifest or one of its files is broken; the message names the entry."""


@dataclass(frozen=True)
class SandboxPatient:
    id: str
    bundle_path: Path
    orders_path: Path | None
    story: str
    expect: dict[str, dict] = field(default_factory=dict)   # hook -> expectations

    def expectations(self, hook: str) -> dict:
        """What ``hook`` must answer: ``orders`` for both order hooks, overridden per hook."""
        base = dict(self.expect.get("orders", {})) if hook in ORDER_HOOKS else {}
        return {**base, **self.expect.get(hook, {})}


@dataclass(frozen=True)
class Manifest:
    directory: Path
    shared_paths: tuple[Path, ...]
    services: dict[str, str]                                  # hook -> service id
    patients: tuple[SandboxPatient, ...]

    def patient(self, patient_id: str) -> SandboxPatient | None:
        return next((p for p in self.patients if p.id == patient_id), None)

    def bundle_paths(self) -> list[Path]:
        """Shared resources first (the patients refer to them), then one Bundle per patient."""
        return [*self.shared_paths, *dict.fromkeys(p.bundle_path for p in self.patients)]


def utc_today() -> date:
    """Today as the service sees it: it decides against the UTC wall clock."""
    return datetime.now(timezone.utc).date()


def default_directory() -> Path:
    """$INOTUZUMAB_SANDBOX_DIR, else the repository's sandbox/ folder, else ./sandbox."""
    configured = os.environ.get("INOTUZUMAB_SANDBOX_DIR")
    if configured:
        return Path(configured)
    beside = Path(__file__).resolve().parents[2] / "sandbox"
    return beside if (beside / "manifest.yaml").exists() else Path.cwd() / "sandbox"


def read_json(path: Path) -> dict:
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: cannot read JSON ({exc})") from exc
    if not isinstance(content, dict):
        raise ManifestError(f"{path}: not a JSON object")
    return content


def load_manifest(directory: Path | str | None = None) -> Manifest:
    """:raise ManifestError: naming the entry, for a missing file or an unknown expectation."""
    directory = Path(directory) if directory else default_directory()
    path = directory / "manifest.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    shared = raw.get("shared") or []
    shared_paths = tuple(_existing(directory, name, "shared") for name in ([shared] if isinstance(shared, str)
                                                                           else shared))
    services = dict(raw.get("services") or {})
    unknown_hooks = set(services) - set(HOOKS)
    if unknown_hooks or not services:
        raise ManifestError(f"{path}: services must map hooks {HOOKS} to service ids")
    patients = tuple(_patient(directory, entry, index) for index, entry in enumerate(raw.get("patients") or []))
    if len({p.id for p in patients}) != len(patients):
        raise ManifestError(f"{path}: duplicate patient id")
    return Manifest(directory, shared_paths, services, patients)


def _existing(directory: Path, name: Any, where: str) -> Path:
    if not isinstance(name, str) or not (directory / name).is_file():
        raise ManifestError(f"manifest {where}: file {name!r} not found under {directory}")
    return directory / name


def _patient(directory: Path, entry: dict, index: int) -> SandboxPatient:
    where = f"patients[{index}] ({entry.get('id', '?') if isinstance(entry, dict) else '?'})"
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ManifestError(f"manifest {where}: needs an id")
    expect = entry.get("expect") or {}
    for hook, expectations in expect.items():
        if hook not in (*HOOKS, "orders"):
            raise ManifestError(f"manifest {where}: unknown hook {hook!r} in expect")
        _check_expectations(expectations, f"{where} expect.{hook}")
    orders = entry.get("draftOrders")
    return SandboxPatient(entry["id"], _existing(directory, entry.get("bundle"), where),
                          _existing(directory, orders, where) if orders else None,
                          " ".join(str(entry.get("story", "")).split()), expect)


def _check_expectations(expected: Any, where: str) -> None:
    if not isinstance(expected, dict) or set(expected) - EXPECT_KEYS:
        raise ManifestError(f"manifest {where}: keys must be among {sorted(EXPECT_KEYS)}")
    rules = [("indicator", expected.get("indicator"), INDICATORS), ("verdict", expected.get("verdict"), VERDICTS)]
    rules += [(f"criteria.{k}", v, CRITERION_STATUSES) for k, v in (expected.get("criteria") or {}).items()]
    rules += [(f"safety.{k}", str(v).split("/")[0], ("ok", "unknown", "flagged"))
              for k, v in (expected.get("safety") or {}).items()]
    for name, value, allowed in rules:
        if value is not None and value not in allowed:
            raise ManifestError(f"manifest {where}: {name} must be one of {allowed}, not {value!r}")
    unknown = set(expected.get("criteria") or {}) - set(CRITERIA) | set(expected.get("safety") or {}) - set(SAFETY_IDS)
    if unknown:
        raise ManifestError(f"manifest {where}: unknown criteria or safety ids {sorted(unknown)}")


# --------------------------------------------------------------------------- dates

def is_relative(bundle: dict) -> bool:
    tags = ((bundle.get("meta") or {}).get("tag") or []) if isinstance(bundle, dict) else []
    return any((t.get("system"), t.get("code")) == SANDBOX_TAG for t in tags if isinstance(t, dict))


def anchor_of(bundle: dict) -> date:
    """The day the file's dates are written for (``Bundle.timestamp``)."""
    try:
        return date.fromisoformat(str(bundle["timestamp"])[:10])
    except (KeyError, ValueError) as exc:
        raise ManifestError("a sandbox Bundle needs its anchor date in Bundle.timestamp") from exc


def shift_date(value: str, days: int) -> str:
    """Move a FHIR date/dateTime/instant by ``days``, keeping its precision and time of day."""
    match = _DATE.match(value)
    if not match or days == 0:
        return value
    year, month, day, rest = match.groups()
    moved = date(int(year), int(month or 1), int(day or 1)) + timedelta(days=days)
    text = moved.isoformat()[:len(value.split("T")[0])]
    return text + (rest or "")


def shift_dates(node: Any, days: int) -> Any:
    """A copy of a JSON tree with every value under a date element name shifted by ``days``."""
    if isinstance(node, dict):
        return {k: (shift_date(v, days) if k in DATE_KEYS and isinstance(v, str) else shift_dates(v, days))
                for k, v in node.items()}
    if isinstance(node, list):
        return [shift_dates(item, days) for item in node]
    return node


def materialise(bundle: dict, today: date) -> dict:
    """The Bundle with its dates made current (sandbox Bundles only; any other Bundle is returned as it is)."""
    if not is_relative(bundle):
        return copy.deepcopy(bundle)
    return shift_dates(bundle, (today - anchor_of(bundle)).days)


def resources_of(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle.get("entry") or () if isinstance(e, dict)
            and isinstance(e.get("resource"), dict)]


def stamp_materialised(bundle: dict, today: date) -> dict:
    """Mark each Patient with the day its dates were made for, so ``smoke`` can tell when they have drifted."""
    for resource in resources_of(bundle):
        if resource.get("resourceType") == "Patient":
            others = [x for x in resource.get("extension") or () if x.get("url") != MATERIALISED_ON]
            resource["extension"] = [*others, {"url": MATERIALISED_ON, "valueDate": today.isoformat()}]
    return bundle


def materialised_on(patient: dict | None) -> str | None:
    for extension in (patient or {}).get("extension") or ():
        if isinstance(extension, dict) and extension.get("url") == MATERIALISED_ON:
            return extension.get("valueDate")
    return None
