"""Dosing: BSA, the cycle regimen, per-dose mg, the ordered-dose check; and premedication.

Pure functions of (PatientRecord, Knowledge, the order, the course). Every number comes from the knowledge base
(regimens, windows, formula constants, rounding, tolerance); what cannot be read (no recent height or weight, an
unreadable unit, an unknown response status) leaves the check ``not-assessable`` and says what is missing,
never a reassuring answer. The card only renders what is decided here. BSA lives in ``bsa.py`` and
premedication in ``premedication.py``; both are re-exported here, where the pipeline looks for them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..assessment import Severity
from ..knowledge import Knowledge
from ..patient import PatientRecord, reference_of
from ..units import convert, quantity_value
from .bsa import Bsa, Measurement, compute_bsa, latest_measurement, pediatric_status, round_step, vials_for
from .course import Course
from .premedication import Premedication, PremedFound, PremedOrder, assess_premedication

__all__ = ["Bsa", "DoseLine", "Dosing", "Measurement", "OrderCheck", "Plan", "PremedFound", "PremedOrder",
           "Premedication", "Route", "assess_dosing", "assess_premedication", "check_order", "route_of"]

UNDETERMINED = "undetermined"
_EPSILON = 1e-9   # float slack in threshold comparisons


# --------------------------------------------------------------------------- data the card renders

@dataclass(frozen=True)
class DoseLine:
    day: int
    mg_per_m2: float
    mg: float | None = None        # for this BSA, after the dose rounding policy
    vials: int | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"day": self.day, "mgPerM2": self.mg_per_m2}
        if self.mg is not None:
            out["mg"] = self.mg
        return out


@dataclass(frozen=True)
class Plan:
    regimen: str
    description: str
    cycle_length_days: int
    source: str
    doses: tuple[DoseLine, ...]

    def dose_on(self, day: int | None) -> DoseLine | None:
        return next((d for d in self.doses if d.day == day), None)


@dataclass(frozen=True)
class OrderCheck:
    status: str                    # matches-label | above-label | below-label | not-assessable
    reason: str                    # one plain sentence
    cause: str = ""                # when not-assessable: dose | unit | bsa | ambiguous
    ordered_value: float | None = None
    ordered_unit: str | None = None
    ordered_mg: float | None = None
    ordered_mg_per_m2: float | None = None
    expected_mg_per_m2: tuple[float, ...] = ()   # the single doses the order was compared with
    expected_min_mg: float | None = None
    expected_max_mg: float | None = None
    suggested_mg: float | None = None            # the one calculated dose an update may set, when there is one
    suggested_mg_per_m2: float | None = None
    cycle_total_as_one_dose: bool = False

    def to_json(self) -> dict:
        out: dict[str, Any] = {"status": self.status}
        for key, value in (("orderedMg", self.ordered_mg), ("expectedMinMg", self.expected_min_mg),
                           ("expectedMaxMg", self.expected_max_mg)):
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Route:
    status: str                    # intravenous | other | not-stated
    text: str = ""


@dataclass(frozen=True)
class Dosing:
    order_reference: str
    pediatric: bool | None         # None: age unknown or straddling the adult age
    height: Measurement | None
    weight: Measurement | None
    previous_weight: Measurement | None
    weight_change_percent: float | None
    weight_change_flagged: bool
    bsa: Bsa | None
    to_record: tuple[str, ...]     # what to measure when BSA is not assessable, each with its reason
    cycle: int | None
    day: int | None
    regimen: str                   # a regimen id or "undetermined"
    regimen_basis: str
    plans: tuple[Plan, ...]        # the regimen, or both options when undetermined
    check: OrderCheck
    route: Route
    issues: tuple[tuple[str, Severity], ...]
    order_json: dict = field(default_factory=dict, compare=False)
    days_since_last_dose: float | None = None  # from the newest prior dose to now
    min_days_between_doses: int | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"regimen": self.regimen, "orderCheck": self.check.to_json()}
        if self.bsa is not None:
            out["bsa"] = self.bsa.to_json()
        if self.regimen != UNDETERMINED and self.plans:
            out["doses"] = [d.to_json() for d in self.plans[0].doses]
        return out


# --------------------------------------------------------------------------- regimen and position in the course

def _plan(knowledge: Knowledge, regimen_id: str, bsa: Bsa | None) -> Plan:
    regimen = knowledge.regimens[regimen_id]
    step, vial = knowledge.value("dose-rounding-mg"), knowledge.product["vialMg"]["value"]
    lines = []
    for day, per_m2 in regimen.doses:
        mg = round_step(per_m2 * bsa.value_m2, step) if bsa else None
        lines.append(DoseLine(day, per_m2, mg, vials_for(mg, vial) if mg else None))
    return Plan(regimen_id, regimen.description, regimen.cycle_length_days, regimen.source, tuple(lines))


def _position(course: Course, now: datetime) -> tuple[int | None, int | None, str, str]:
    """(cycle, index of this dose within the cycle, regimen id, basis) for a dose given ``now``."""
    if course.undated:
        return None, None, UNDETERMINED, (f"earlier inotuzumab records without a usable date "
                                          f"({', '.join(course.undated)}) leave the cycle and day unknown")
    cycle, first = course.position(now)
    index = 0 if first else len(course.cycles[-1])
    if cycle == 1:
        return cycle, index, "cycle-1", "no earlier inotuzumab in the record" if first else "cycle 1 under way"
    regimen = {"cr-cri": "subsequent-cr-cri", "no-cr-cri": "subsequent-no-cr-cri"}.get(course.response.status,
                                                                                        UNDETERMINED)
    return cycle, index, regimen, f"response: {course.response.detail}"


# --------------------------------------------------------------------------- the ordered dose

def _dose_quantity(order) -> tuple[Any, str | None]:
    ranges = False
    for instruction in order.dosageInstruction or ():
        for dose_rate in instruction.doseAndRate or ():
            if dose_rate.doseQuantity is not None:
                return dose_rate.doseQuantity, None
            ranges = ranges or dose_rate.doseRange is not None
    return None, ("the order gives a dose range, not a single dose" if ranges else "the order states no dose")


def _read_order(order, bsa: Bsa | None, step: float, cycle_total: float) -> OrderCheck:
    """The ordered amounts; a ``reason`` is set when the dose cannot be compared (status stays not-assessable)."""
    quantity, problem = _dose_quantity(order)
    read = quantity_value(quantity)
    if problem or read is None or read[0] is None:
        return OrderCheck("not-assessable", problem or "the order's dose has no numeric value", "dose")
    value, unit = read
    mg, per_m2 = convert(value, unit, "mg"), convert(value, unit, "mg/m2")
    if mg is None and per_m2 is None:
        return OrderCheck("not-assessable", f"the dose unit '{unit}' is not readable as mg or mg/m2", "unit",
                          value, unit)
    if bsa is None:  # a dose in mg/m2 still shows a cycle total entered as one dose
        return OrderCheck("not-assessable", "no BSA: the ordered dose cannot be compared with the label", "bsa",
                          value, unit, ordered_mg_per_m2=per_m2,
                          cycle_total_as_one_dose=per_m2 is not None and per_m2 >= cycle_total - _EPSILON)
    ordered_mg = mg if mg is not None else per_m2 * bsa.value_m2
    return OrderCheck("not-assessable", "", "", value, unit, round_step(ordered_mg, step),
                      per_m2 if per_m2 is not None else mg / bsa.value_m2)


def _expected(plans: tuple[Plan, ...], day: int | None) -> tuple[float, ...]:
    if day is not None:
        found = [p.dose_on(day) for p in plans]
        if all(found):
            return tuple(sorted({d.mg_per_m2 for d in found}))
    return tuple(sorted({d.mg_per_m2 for p in plans for d in p.doses}))


def check_order(order, knowledge: Knowledge, bsa: Bsa | None, plans: tuple[Plan, ...], day: int | None) -> OrderCheck:
    """Compare the ordered single dose with the regimen's dose(s) for this day, within the site tolerance."""
    step = knowledge.value("dose-rounding-mg")
    cycle_total = knowledge.value("cycle-total-as-single-dose-mg-per-m2")
    check = _read_order(order, bsa, step, cycle_total)
    if check.reason:
        return check
    expected = _expected(plans, day)
    tolerance = knowledge.value("dose-tolerance-percent") / 100
    ordered = check.ordered_mg_per_m2
    fits = [v for v in expected if v * (1 - tolerance) - _EPSILON <= ordered <= v * (1 + tolerance) + _EPSILON]
    low, high = expected[0], expected[-1]
    if fits:
        status, reason = "matches-label", f"{ordered:.2f} mg/m2 is within {tolerance:.0%} of {fits[0]:g} mg/m2"
    elif ordered > high * (1 + tolerance):
        status, reason = "above-label", f"{ordered:.2f} mg/m2 is above {high:g} mg/m2 by more than {tolerance:.0%}"
    elif ordered < low * (1 - tolerance):
        status, reason = "below-label", f"{ordered:.2f} mg/m2 is below {low:g} mg/m2 by more than {tolerance:.0%}"
    else:
        status, reason = "not-assessable", (f"{ordered:.2f} mg/m2 fits neither {low:g} nor {high:g} mg/m2, and "
                                            "which applies is not known (response status or day of the cycle)")
    single = expected[0] if len(expected) == 1 else None
    return replace(check, status=status, reason=reason, cause="ambiguous" if status == "not-assessable" else "",
                   expected_mg_per_m2=expected, expected_min_mg=round_step(low * bsa.value_m2, step),
                   expected_max_mg=round_step(high * bsa.value_m2, step),
                   suggested_mg=round_step(single * bsa.value_m2, step) if single else None,
                   suggested_mg_per_m2=single, cycle_total_as_one_dose=ordered >= cycle_total - _EPSILON)


def _words_match(names: tuple[str, ...], text: str) -> bool:
    return any(re.search(rf"\b{re.escape(name)}\b", text.lower()) for name in names)


def route_of(order, knowledge: Knowledge) -> Route:
    """IV by a route code in the value set, or by a whole word (intravenous, IV) in the route's text or display."""
    value_set = knowledge.vs("route-intravenous")
    routes = [i.route for i in order.dosageInstruction or () if i.route is not None]
    if not routes:
        return Route("not-stated")
    others = []
    for route in routes:
        words = " ".join([route.text or ""] + [c.display or "" for c in route.coding or ()])
        if not (value_set.matches(route) or _words_match(value_set.names, words)):
            others.append(words or ", ".join(f"{c.code}" for c in route.coding or ()) or "uncoded route")
    return Route("other", "; ".join(others)) if others else Route("intravenous")


# --------------------------------------------------------------------------- dosing

def assess_dosing(record: PatientRecord, knowledge: Knowledge, order, course: Course) -> Dosing | None:
    """BSA, the regimen for this dose, and the ordered dose checked against it."""
    pediatric = pediatric_status(record, knowledge)
    height_window = knowledge.value("lookback-height-adult-days" if pediatric is False
                                    else "lookback-height-pediatric-days")
    height, _, height_problem = latest_measurement(record, knowledge, "height", height_window)
    weight, previous, weight_problem = latest_measurement(record, knowledge, "weight",
                                                          knowledge.value("lookback-weight-days"))
    bsa, formula_problem = compute_bsa(knowledge, height, weight)
    to_record = tuple(p for p in (height_problem and f"height: {height_problem}",
                                  weight_problem and f"weight: {weight_problem}", formula_problem) if p)
    change = None
    if weight is not None and previous is not None:
        change = abs(weight.converted - previous.converted) / previous.converted * 100
    cycle, index, regimen, basis = _position(course, record.now)
    options = ("subsequent-cr-cri", "subsequent-no-cr-cri") if regimen == UNDETERMINED else (regimen,)
    plans = tuple(_plan(knowledge, r, bsa) for r in options)
    day = plans[0].doses[index].day if index is not None and index < len(plans[0].doses) else None
    check = check_order(order, knowledge, bsa, plans, day)
    route = route_of(order, knowledge)
    flagged = change is not None and change > knowledge.value("weight-change-percent")
    issues = _dosing_issues(check, route, bsa, flagged, regimen, plans, day)
    since = (record.now - course.doses[-1].when).total_seconds() / 86400 if course.doses else None
    if since is not None and since < knowledge.value("min-days-between-doses"):
        issues = (("dose-too-soon", Severity.WARNING), *issues)
    return Dosing(reference_of(order), pediatric, height, weight, previous, change, flagged, bsa, to_record, cycle,
                  day, regimen, basis, plans, check, route, issues,
                  json.loads(order.model_dump_json(exclude_none=True)), since,
                  knowledge.value("min-days-between-doses"))


def _dosing_issues(check: OrderCheck, route: Route, bsa: Bsa | None, weight_flag: bool, regimen: str,
                   plans: tuple[Plan, ...], day: int | None) -> tuple[tuple[str, Severity], ...]:
    issues = []
    if check.cycle_total_as_one_dose:
        issues.append(("cycle-total-as-one-dose", Severity.CRITICAL))
    if check.status in ("above-label", "below-label"):
        issues.append((check.status, Severity.WARNING))
    if check.status == "not-assessable" and check.cause != "bsa":
        issues.append(("dose-not-assessable", Severity.WARNING))
    if bsa is None:
        issues.append(("bsa-not-assessable", Severity.WARNING))
    if route.status == "other":
        issues.append(("route-not-intravenous", Severity.WARNING))
    if weight_flag:
        issues.append(("weight-change", Severity.WARNING))
    if regimen == UNDETERMINED and len(_expected(plans, day)) > 1 and check.status == "matches-label":
        issues.append(("regimen-undetermined", Severity.WARNING))
    return tuple(issues)
