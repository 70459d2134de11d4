"""The CD22 criterion: the most recent final CD22 result on blasts, in every shape laboratories send it.

LOINC has no settled code for CD22 on blasts, so results are found through the ``cd22-result`` value set (sites add
local codes) and read as: a percentage of blasts (against the site threshold), a coded value (SNOMED Positive /
Negative), an interpretation (POS/NEG), a component of a flow panel, a short text value, or the narrative of an
immunophenotyping report (``immunophenotype-narrative``). Only final/amended/corrected results count; results
outside the look-back window are treated as absent and named; the newest day decides, and results of that day
that disagree give "unknown". A result older than the most recent relapse is flagged (CD22 can be lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..assessment import Criterion, Status
from ..fhirdates import effective_time, fmt_date
from ..knowledge import Knowledge, codings
from ..patient import PatientRecord, reference_of
from ..units import convert, quantity_value
from .course import Course
from .narrative import NEGATIVE, NOT_REPORTED, POSITIVE, UNCERTAIN, read_marker

FINAL = ("final", "amended", "corrected")
SILENT = ("entered-in-error", "cancelled")
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Reading:
    result: str                 # positive | negative | unreadable
    when: datetime | None
    reference: str
    value: str                  # what the record says, for the card ("85 % of blasts", "coded Positive"...)
    narrative: bool = False


def _threshold_result(percent: float, knowledge: Knowledge) -> str:
    threshold = float(knowledge.value("cd22-positive-above-percent"))
    inclusive = bool(knowledge.value("cd22-threshold-inclusive"))
    if percent <= 0:
        return NEGATIVE
    return POSITIVE if percent > threshold or (inclusive and percent == threshold) else NEGATIVE


def _rule(knowledge: Knowledge) -> str:
    threshold = knowledge.value("cd22-positive-above-percent")
    sign = ">=" if knowledge.value("cd22-threshold-inclusive") else ">"
    site = "site" if knowledge.policy("cd22-positive-above-percent").site_modified else "default"
    return f"positive {sign} {threshold}% ({site} threshold)"


def _quantity(holder, knowledge: Knowledge) -> tuple[str, str] | None:
    quantity = getattr(holder, "valueQuantity", None)
    read = quantity_value(quantity)
    if read is None:
        return None
    value, unit = read
    comparator = getattr(quantity, "comparator", None)
    if comparator:  # "<1%" bounds the value; it never shows CD22 expression
        return UNREADABLE, f"{comparator}{value:g} {unit or ''}: a bound, not a measured percentage of blasts"
    percent = convert(value, unit, "%") if value is not None else None
    if percent is None:
        return UNREADABLE, f"{value:g} {unit or '(no unit)'}: not a percentage of blasts"
    if not 0 <= percent <= 100:
        return UNREADABLE, f"{percent:g}%: not a possible percentage"
    return _threshold_result(percent, knowledge), f"{percent:g}% of blasts, {_rule(knowledge)}"


def _coded(concept, knowledge: Knowledge, what: str) -> tuple[str, str] | None:
    if concept is None:
        return None
    positive, negative = knowledge.vs("result-positive"), knowledge.vs("result-negative")
    pairs = list(codings(concept))
    if positive.matches(concept) and not negative.matches(concept):
        return POSITIVE, f"{what} {_display(pairs, positive)}"
    if negative.matches(concept) and not positive.matches(concept):
        return NEGATIVE, f"{what} {_display(pairs, negative)}"
    if what == "interpretation":
        return None  # other interpretation flags (H, A...) say nothing about CD22 positivity
    text = concept.get("text") if isinstance(concept, dict) else getattr(concept, "text", None)
    if not pairs and text:
        return _text_value(text, knowledge)
    shown = ", ".join(f"{code}" for _, code in pairs) or "no code"
    return UNREADABLE, f"coded value {shown} is neither a positive nor a negative result"


def _display(pairs, value_set) -> str:
    for system, code in pairs:
        if value_set.has(system, code):
            return f"{value_set.displays.get((system, code), code)} ({code})"
    return ""


def _text_value(text: str | None, knowledge: Knowledge) -> tuple[str, str] | None:
    """A short text value on a CD22-coded result ("Positive", "85%"), read as a narrative about CD22."""
    if not text:
        return None
    vocabulary = knowledge.value("cd22-narrative-vocabulary")
    statements = read_marker(f"CD22 {text}" if "cd22" not in text.lower() else text, "22", vocabulary)
    result = _combine(statements, knowledge)
    return (result[0], f"text '{text[:60]}'") if result else (UNREADABLE, f"text '{text[:60]}' not understood")


def _holder_results(holder, knowledge: Knowledge) -> list[tuple[str, str]]:
    """Every reading of one Observation or component: value[x] and interpretation."""
    found = [r for r in (_quantity(holder, knowledge),
                         _coded(getattr(holder, "valueCodeableConcept", None), knowledge, "coded"),
                         _text_value(getattr(holder, "valueString", None), knowledge)) if r]
    for interpretation in getattr(holder, "interpretation", None) or ():
        result = _coded(interpretation, knowledge, "interpretation")
        if result:
            found.append(result)
    if not found:
        absent = getattr(getattr(holder, "dataAbsentReason", None), "text", None)
        found.append((UNREADABLE, f"no value{f' ({absent})' if absent else ''}"))
    return found


def _merge(results: list[tuple[str, str]]) -> tuple[str, str]:
    """One result from the parts of one record; parts that disagree (or cannot be read) make it unreadable."""
    kinds = {kind for kind, _ in results}
    text = "; ".join(value for _, value in results)
    if len(kinds) == 1:
        return kinds.pop(), text
    return UNREADABLE, f"{text}: the parts of this result disagree"


def _structured(observation, knowledge: Knowledge) -> list[Reading]:
    value_set = knowledge.vs("cd22-result")
    when, reference = effective_time(observation), reference_of(observation)
    readings = []
    if value_set.matches(observation.code):
        result, value = _merge(_holder_results(observation, knowledge))
        readings.append(Reading(result, when, reference, value))
    for component in observation.component or ():
        if value_set.matches(component.code):
            result, value = _merge(_holder_results(component, knowledge))
            readings.append(Reading(result, when, reference, f"panel component: {value}"))
    return readings


def _combine(statements, knowledge: Knowledge) -> tuple[str, str] | None:
    """One result from a narrative's statements; None when it reports no CD22 result at all."""
    results, reasons = set(), []
    for statement in statements:
        if statement.result == NOT_REPORTED:
            continue
        result = statement.result
        if statement.percent is not None:
            by_percent = _threshold_result(statement.percent, knowledge)
            result = by_percent if result in ("", by_percent) else UNCERTAIN
        results.add(result)
        if statement.reason:
            reasons.append(statement.reason)
    if not results:
        return None
    if len(results) == 1 and results <= {POSITIVE, NEGATIVE}:
        return results.pop(), ""
    return UNREADABLE, "; ".join(reasons) or "the text states both results"


def _narrative(observation, knowledge: Knowledge) -> Reading | None:
    text = observation.valueString
    statements = read_marker(text, "22", knowledge.value("cd22-narrative-vocabulary"))
    combined = _combine(statements, knowledge)
    if combined is None:
        return None
    result, reason = combined
    excerpt = next((s.excerpt for s in statements if s.result != NOT_REPORTED), text or "")
    value = f"narrative '{excerpt[:100]}'" + (f" ({reason})" if reason else "")
    return Reading(result, effective_time(observation), reference_of(observation), value, narrative=True)


@dataclass
class _Found:
    usable: list[Reading]
    stale: list[Reading]
    set_aside: list[str]        # preliminary results, narratives without a CD22 result, undated/future results


def _collect(record: PatientRecord, knowledge: Knowledge, since: date) -> _Found:
    found = _Found([], [], [])
    structured = record.observations_in(knowledge.vs("cd22-result"))
    narratives = record.observations_in(knowledge.vs("immunophenotype-narrative"))
    seen = {id(o) for o in structured}
    for observation in structured + [o for o in narratives if id(o) not in seen]:
        if observation.status in SILENT:
            continue
        if observation.status not in FINAL:
            found.set_aside.append(f"{reference_of(observation)} ({observation.status})")
            continue
        readings = _structured(observation, knowledge)
        if knowledge.vs("immunophenotype-narrative").matches(observation.code):
            narrative = _narrative(observation, knowledge)
            if narrative is not None:
                readings.append(narrative)
            elif not readings:
                found.set_aside.append(f"{reference_of(observation)} (report without a CD22 result)")
        for reading in readings:
            _sort(reading, record, since, found)
    return found


def _sort(reading: Reading, record: PatientRecord, since: date, found: _Found) -> None:
    if reading.when is None or reading.when > record.now + timedelta(hours=24):
        why = "undated" if reading.when is None else "dated in the future"
        found.set_aside.append(f"{reading.reference} ({why})")
    elif reading.when.date() < since:
        found.stale.append(reading)
    else:
        found.usable.append(reading)


def window_start(record: PatientRecord, course: Course, days: int) -> date:
    """Look-back start; on an inotuzumab course the window also reaches back from the course start."""
    start = record.now.date() - timedelta(days=days)
    if course.started is not None:
        start = min(start, course.started.date() - timedelta(days=days))
    return start


def cd22_criterion(record: PatientRecord, knowledge: Knowledge, course: Course,
                   last_relapse: date | None) -> Criterion:
    """The newest usable day of CD22 results decides; none, unreadable or disagreeing results give unknown."""
    days = int(knowledge.value("lookback-cd22-days"))
    found = _collect(record, knowledge, window_start(record, course, days))
    if not found.usable:
        return _none(found, knowledge, days, course, last_relapse)
    newest_day = max(r.when.date() for r in found.usable)
    today = [r for r in found.usable if r.when.date() == newest_day]
    evidence = tuple(dict.fromkeys(r.reference for r in today))
    kinds = {r.result for r in today}
    values = "; ".join(r.value for r in today)
    notes = [knowledge.text("eligibility-cd22-narrative")] if any(r.narrative for r in today) else []
    if len(kinds) > 1:
        return Criterion(Status.UNKNOWN, f"CD22 results of {fmt_date(newest_day)} disagree: {values}", evidence,
                         missing="one confirmed CD22 result (the results of the same day disagree)",
                         notes=tuple(notes))
    result = kinds.pop()
    if result == UNREADABLE:
        return Criterion(Status.UNKNOWN, f"most recent CD22 result ({fmt_date(newest_day)}) cannot be read as "
                         f"positive or negative: {values}", evidence,
                         missing="a readable CD22 result (percentage of blasts, or positive/negative)",
                         notes=tuple(notes))
    detail = f"CD22 {result} on {fmt_date(newest_day)}: {values}"
    if last_relapse is not None and newest_day < last_relapse:
        outdated = knowledge.text("eligibility-cd22-before-relapse")
        if knowledge.value("cd22-require-after-relapse"):
            return Criterion(Status.UNKNOWN, f"{detail}; taken before the relapse of {fmt_date(last_relapse)}",
                             evidence, missing=f"a CD22 result taken after the relapse of {fmt_date(last_relapse)}",
                             notes=(outdated, *notes))
        notes.insert(0, outdated)
        detail += f" (before the relapse of {fmt_date(last_relapse)})"
    return Criterion(Status.MET if result == POSITIVE else Status.NOT_MET, detail, evidence, notes=tuple(notes))


def _none(found: _Found, knowledge: Knowledge, days: int, course: Course, last_relapse: date | None) -> Criterion:
    parts = ["no final CD22 result"]
    evidence = []
    if found.stale:
        newest = max(found.stale, key=lambda r: r.when)
        parts.append(f"the last one ({newest.result}, {fmt_date(newest.when)}, {newest.reference}) is older than "
                     f"{days} days and treated as absent")
        evidence.append(newest.reference)
    else:
        parts[0] += f" within {days} days"
    if found.set_aside:
        parts.append("not used: " + ", ".join(found.set_aside))
    anchor = f" (or the {days} days before the course start)" if course.started is not None else ""
    after = f", taken after the relapse of {fmt_date(last_relapse)}" if last_relapse is not None else ""
    return Criterion(Status.UNKNOWN, "; ".join(parts), tuple(evidence),
                     missing=f"a final CD22 result on blasts from the last {days} days{anchor}{after}",
                     notes=(knowledge.text("eligibility-cd22-no-loinc"),))
