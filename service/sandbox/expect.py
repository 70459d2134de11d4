"""Hold one hook response to the manifest's expectations. Pure: JSON in, a list of readable mismatches out.

The decision is read from the assessment every card carries (``extension["inotuzumab-cds.assessment"]``), never
from card prose; only ``mentions`` reads the text, for behaviour the contract has no field for.
"""

from __future__ import annotations

from typing import Any

from ..assessment import EXTENSION_KEY
from .data import INDICATORS

ASSESSMENT_KEYS = ("verdict", "criteria", "dosing", "premedication", "safety")


def cards_of(response: dict | None) -> list[dict]:
    cards = (response or {}).get("cards")
    return [c for c in cards if isinstance(c, dict)] if isinstance(cards, list) else []


def top_indicator(cards: list[dict]) -> str:
    ranked = [INDICATORS.index(c["indicator"]) for c in cards if c.get("indicator") in INDICATORS]
    return INDICATORS[max(ranked)] if ranked else "none"


def assessment_of(cards: list[dict], order: str | None) -> dict | None:
    """The first assessment on the cards (the eligibility card comes first), for ``order`` when one is given."""
    for card in cards:
        found = (card.get("extension") or {}).get(EXTENSION_KEY)
        if isinstance(found, dict) and (order is None or found.get("order") == order):
            return found
    return None


def describe(response: dict | None, order: str | None) -> str:
    """One short line for the table: cards, top indicator, verdict."""
    cards = cards_of(response)
    assessment = assessment_of(cards, order)
    parts = [f"{len(cards)} card{'s' if len(cards) != 1 else ''}"]
    if cards:
        parts.append(top_indicator(cards))
    if assessment:
        parts.append(str(assessment.get("verdict")))
    return ", ".join(parts)


def check(expected: dict, response: dict | None, order: str | None) -> list[str]:
    """Every way ``response`` differs from ``expected``; empty when it matches."""
    cards = cards_of(response)
    problems: list[str] = []
    if "cards" in expected and len(cards) != expected["cards"]:
        problems.append(f"cards: expected {expected['cards']}, got {len(cards)}")
    if "indicator" in expected and top_indicator(cards) != expected["indicator"]:
        problems.append(f"indicator: expected {expected['indicator']}, got {top_indicator(cards)}")
    if "mentions" in expected:
        text = " ".join(f"{c.get('summary', '')} {c.get('detail', '')}" for c in cards).lower()
        problems += [f"mentions: no card says {phrase!r}" for phrase in expected["mentions"]
                     if str(phrase).lower() not in text]
    if not any(key in expected for key in ASSESSMENT_KEYS):
        return problems
    assessment = assessment_of(cards, order)
    if assessment is None:
        where = f" for {order}" if order else ""
        return problems + [f"no card carries the assessment{where}"]
    return problems + _check_assessment(expected, assessment)


def _check_assessment(expected: dict, assessment: dict) -> list[str]:
    problems = []
    if "verdict" in expected and assessment.get("verdict") != expected["verdict"]:
        problems.append(f"verdict: expected {expected['verdict']}, got {assessment.get('verdict')}")
    criteria = assessment.get("criteria") or {}
    for name, status in (expected.get("criteria") or {}).items():
        got = _get(criteria, name, "status")
        if got != status:
            problems.append(f"criteria.{name}: expected {status}, got {got} ({_get(criteria, name, 'detail')})")
    problems += _check_dosing(expected, assessment)
    problems += _check_safety(expected.get("safety"), assessment.get("safety"))
    return problems


def _check_dosing(expected: dict, assessment: dict) -> list[str]:
    problems = []
    dosing = expected.get("dosing") or {}
    got_dosing = assessment.get("dosing")
    if dosing and not isinstance(got_dosing, dict):
        problems.append("dosing: expected a dosing assessment, got none")
    elif dosing:
        if "regimen" in dosing and got_dosing.get("regimen") != dosing["regimen"]:
            problems.append(f"dosing.regimen: expected {dosing['regimen']}, got {got_dosing.get('regimen')}")
        got_check = _get(got_dosing, "orderCheck", "status")
        if "orderCheck" in dosing and got_check != dosing["orderCheck"]:
            problems.append(f"dosing.orderCheck: expected {dosing['orderCheck']}, got {got_check}")
    if "premedication" in expected:
        wanted = expected["premedication"]
        wanted = wanted if isinstance(wanted, dict) else {"status": wanted}
        got = assessment.get("premedication") or {}
        if got.get("status") != wanted.get("status"):
            problems.append(f"premedication: expected {wanted.get('status')}, got {got.get('status')}")
        if "missing" in wanted and sorted(got.get("missing") or []) != sorted(wanted["missing"]):
            problems.append(f"premedication.missing: expected {sorted(wanted['missing'])}, "
                            f"got {sorted(got.get('missing') or [])}")
    return problems


def _check_safety(expected: dict | None, findings: Any) -> list[str]:
    found = {f.get("id"): f for f in findings or () if isinstance(f, dict)}
    expected = expected or {}
    problems = []
    for check_id, wanted in expected.items():
        status, _, severity = str(wanted).partition("/")
        finding = found.get(check_id)
        if finding is None:
            problems.append(f"safety.{check_id}: expected {wanted}, got no finding")
            continue
        got = str(finding.get("status")) + (f"/{finding.get('severity')}" if severity else "")
        if got != (f"{status}/{severity}" if severity else status):
            problems.append(f"safety.{check_id}: expected {wanted}, got {got} ({finding.get('detail', '')[:120]})")
    for check_id, finding in found.items():
        if check_id not in expected and finding.get("status") == "flagged":
            problems.append(f"safety.{check_id}: flagged ({finding.get('severity')}) but the manifest expects no "
                            f"alarm ({str(finding.get('detail', ''))[:120]})")
    return problems


def _get(mapping: Any, key: str, field: str) -> Any:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value.get(field) if isinstance(value, dict) else None


def comparable(response: dict | None) -> list[tuple]:
    """What two answers for the same patient must share, whatever way the data reached the service."""
    return [(c.get("indicator"), c.get("summary"), (c.get("extension") or {}).get(EXTENSION_KEY))
            for c in cards_of(response)]
