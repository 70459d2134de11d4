"""Label safety checks before each dose."""

from __future__ import annotations

from ..assessment import SafetyFinding
from ..knowledge import Knowledge
from ..patient import PatientRecord
from .course import Course


def assess_safety(record: PatientRecord, knowledge: Knowledge, order, course: Course, dosing) -> list[SafetyFinding]:
    return []
