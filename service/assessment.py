"""The assessment: what was decided for one order (or one chart), from which records, under which knowledge.

Its JSON form is ``contracts/assessment.schema.json`` and travels on every card as
``extension["inotuzumab-cds.assessment"]``. Cards are rendered from it; nothing is decided while rendering.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from cds_hooks import Indicator

EXTENSION_KEY = "inotuzumab-cds.assessment"


class Status(str, enum.Enum):
    MET = "met"
    NOT_MET = "not-met"
    UNKNOWN = "unknown"


class Verdict(str, enum.Enum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not-eligible"
    INSUFFICIENT = "insufficient-data"


# A finding's severity uses the card indicator's scale (info < warning < critical): one enum, not two.
Severity = Indicator


@dataclass(frozen=True)
class Criterion:
    status: Status
    detail: str                                  # one line: the value, its date, and the rule
    evidence: tuple[str, ...] = ()               # relative references, e.g. Observation/cd22-1
    missing: str | None = None                   # when unknown: what would settle it
    notes: tuple[str, ...] = ()                  # caveats the card must show (narrative source, outdated...)
    critical: bool = False                       # a not-met that is a hard stop (under 1 year)

    def to_json(self) -> dict:
        out: dict[str, Any] = {"status": self.status.value, "detail": self.detail}
        if self.evidence:
            out["evidence"] = list(self.evidence)
        return out


CRITERIA = ("age", "diagnosis", "cd22", "relapsedRefractory")


@dataclass(frozen=True)
class Eligibility:
    criteria: dict[str, Criterion]

    @property
    def verdict(self) -> Verdict:
        statuses = [self.criteria[name].status for name in CRITERIA]
        if Status.NOT_MET in statuses:
            return Verdict.NOT_ELIGIBLE
        if Status.UNKNOWN in statuses:
            return Verdict.INSUFFICIENT
        return Verdict.ELIGIBLE

    def missing(self) -> list[str]:
        return [c.missing for c in (self.criteria[n] for n in CRITERIA) if c.status is Status.UNKNOWN and c.missing]


@dataclass(frozen=True)
class SafetyFinding:
    id: str                                      # one of the schema's fixed ids
    status: str                                  # ok | flagged | unknown
    severity: Severity | None = None
    detail: str | None = None
    evidence: tuple[str, ...] = ()
    suggestion: Any = None                       # an order suggestion the card may offer (ServiceRequest)

    def to_json(self) -> dict:
        out: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.severity is not None:
            out["severity"] = self.severity.value
        if self.detail:
            out["detail"] = self.detail
        if self.evidence:
            out["evidence"] = list(self.evidence)
        return out


@dataclass(frozen=True)
class OrderInfo:
    reference: str                               # MedicationRequest/abc
    recognised_by: str                           # "code" or "name"
    label: str                                   # what the order says it is, for the card


@dataclass
class Assessment:
    knowledge_version: str
    eligibility: Eligibility
    order: OrderInfo | None = None
    dosing: Any = None                           # rules.dosing.Dosing, or None when not assessed
    premedication: Any = None                    # rules.dosing.Premedication, or None
    safety: list[SafetyFinding] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)   # "Observation/x: invalid valueQuantity.value"
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        return self.eligibility.verdict

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "verdict": self.verdict.value,
            "knowledgeVersion": self.knowledge_version,
            "criteria": {name: self.eligibility.criteria[name].to_json() for name in CRITERIA},
        }
        if self.order is not None:
            out["order"] = self.order.reference
        if self.dosing is not None:
            out["dosing"] = self.dosing.to_json()
        if self.premedication is not None:
            out["premedication"] = self.premedication.to_json()
        if self.safety:
            out["safety"] = [finding.to_json() for finding in self.safety]
        return out
