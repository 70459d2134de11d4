"""Eligibility: age >= 1 year, B-cell precursor ALL, CD22-positive, relapsed/refractory."""

from __future__ import annotations

from ..assessment import Criterion, Eligibility, Status
from ..knowledge import Knowledge
from ..patient import PatientRecord
from .course import Course


def assess_eligibility(record: PatientRecord, knowledge: Knowledge, course: Course) -> Eligibility:
    unknown = Criterion(Status.UNKNOWN, "not yet assessed", missing="eligibility rules")
    return Eligibility({name: unknown for name in ("age", "diagnosis", "cd22", "relapsedRefractory")})
