"""The dosing card: BSA, per-dose mg, the order check, premedication, and one-click suggestions."""

from __future__ import annotations

from cds_hooks import Card

from ..assessment import Assessment
from ..knowledge import Knowledge


def dosing_card(assessment: Assessment, knowledge: Knowledge) -> Card | None:
    return None
