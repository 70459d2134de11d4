"""Assessment -> cards. Wording and sources come from the knowledge base; no decision is taken here."""

from __future__ import annotations

from cds_hooks import Card

from ..assessment import Assessment, Severity, Verdict
from ..knowledge import Knowledge
from .dosing import dose_basis_lines, dosing_card
from .eligibility import eligibility_card
from .safety import safety_card


def order_cards(assessment: Assessment, knowledge: Knowledge) -> list[Card]:
    """One eligibility card per inotuzumab order, then a dosing and a safety card only when they have news."""
    cards = [eligibility_card(assessment, knowledge, tuple(dose_basis_lines(assessment, knowledge)))]
    for render in (dosing_card, safety_card):
        card = render(assessment, knowledge)
        if card is not None:
            cards.append(card)
    return cards


def patient_view_cards(assessment: Assessment, knowledge: Knowledge, *, has_all_diagnosis: bool) -> list[Card]:
    """A card only for an ALL patient who may be a candidate, plus critical safety findings for ALL patients (a
    positive pregnancy test in anyone else's chart is not this service's business); else nothing."""
    cards = []
    if has_all_diagnosis and assessment.verdict in (Verdict.ELIGIBLE, Verdict.INSUFFICIENT):
        cards.append(eligibility_card(assessment, knowledge))
    critical = [f for f in assessment.safety if f.status == "flagged" and f.severity is Severity.CRITICAL]
    if critical and has_all_diagnosis:
        card = safety_card(assessment, knowledge, only=critical)
        if card is not None:
            cards.append(card)
    return cards
