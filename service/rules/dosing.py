"""Dosing: BSA, the cycle regimen, per-dose mg, the ordered-dose check; and premedication."""

from __future__ import annotations

from ..knowledge import Knowledge
from ..patient import PatientRecord
from .course import Course


def assess_dosing(record: PatientRecord, knowledge: Knowledge, order, course: Course):
    return None


def assess_premedication(record: PatientRecord, knowledge: Knowledge, order, dosing):
    return None
