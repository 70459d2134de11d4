"""The safety card: the label's checks before each dose, grouped into one card per order."""

from __future__ import annotations

from cds_hooks import Card

from ..assessment import Assessment, SafetyFinding
from ..knowledge import Knowledge


def safety_card(assessment: Assessment, knowledge: Knowledge, only: list[SafetyFinding] | None = None) -> Card | None:
    return None
