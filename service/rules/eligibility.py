"""Eligibility: age >= 1 year, B-cell precursor ALL, CD22-positive, relapsed/refractory (label indication).

Each criterion is met, not-met or unknown, with a one-line detail (value, date, rule) and the records used.
Unknown always says what would settle it. Missing, stale, contradictory or unreadable data never gives "met".
Codes, thresholds, windows and caveat sentences come from ``knowledge/eligibility.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..assessment import Criterion, Eligibility, Status
from ..fhirdates import age_in_years_bounds, date_bounds, effective_time, fmt_date, to_datetime
from ..knowledge import Knowledge, ValueSet, codings
from ..patient import PatientRecord, reference_of
from .cd22 import FINAL, cd22_criterion, window_start
from .course import Course

ACTIVE_STATUSES = {"active", "relapse", "recurrence"}


def assess_eligibility(record: PatientRecord, knowledge: Knowledge, course: Course) -> Eligibility:
    status = disease_status(record, knowledge, course)
    return Eligibility({
        "age": age_criterion(record, knowledge),
        "diagnosis": diagnosis_criterion(record, knowledge),
        "cd22": cd22_criterion(record, knowledge, course, status.last_relapse),
        "relapsedRefractory": status.criterion,
    })


# --------------------------------------------------------------------------- age

def age_criterion(record: PatientRecord, knowledge: Knowledge) -> Criterion:
    """Age on the day of evaluation; a partial birth date decides only when its whole range is on one side."""
    minimum = int(knowledge.value("minimum-age-years"))
    rule = f"label: {minimum} year and older"
    patient = record.patient
    if patient is None:
        unreadable = [u.reference for u in record.unreadable if u.reference.startswith("Patient/")]
        why = f"the Patient record is unreadable ({', '.join(unreadable)})" if unreadable else "no Patient record"
        return Criterion(Status.UNKNOWN, why, missing="the patient's birth date (Patient.birthDate)")
    reference = reference_of(patient)
    today = record.now.date()
    bounds = age_in_years_bounds(patient.birthDate, today)
    birth = date_bounds(patient.birthDate)
    if bounds is None or birth is None:
        return Criterion(Status.UNKNOWN, "no birth date recorded", (reference,),
                         missing="the patient's birth date (Patient.birthDate)")
    if birth[0] > today:
        return Criterion(Status.UNKNOWN, f"birth date {patient.birthDate} is after {fmt_date(today)}", (reference,),
                         missing="a valid birth date (Patient.birthDate)")
    youngest, oldest = bounds
    born = str(patient.birthDate)
    age = f"{youngest} y" if youngest == oldest else f"{max(youngest, 0)}-{oldest} y (birth date given as {born})"
    if youngest >= minimum:
        return Criterion(Status.MET, f"age {age} on {fmt_date(today)}, born {born}; {rule}", (reference,))
    if oldest < minimum:
        months = _months(birth[0], today)
        return Criterion(Status.NOT_MET, f"age {months} months on {fmt_date(today)}, born {born}; {rule}",
                         (reference,), notes=(knowledge.text("eligibility-under-one-year"),), critical=True)
    return Criterion(Status.UNKNOWN, f"age {age} on {fmt_date(today)}: the partial birth date straddles "
                                     f"{minimum} year", (reference,),
                     missing=f"the full birth date (recorded only as {born})")


def _months(born: date, on: date) -> int:
    months = (on.year - born.year) * 12 + on.month - born.month
    return months - 1 if on.day < born.day else months


# --------------------------------------------------------------------------- diagnosis

def _describe(condition, value_set: ValueSet) -> str:
    for system, code in codings(condition.code):
        if value_set.has(system, code):
            return f"{code} {value_set.displays.get((system, code), '')}".strip()
    return "coded condition"


def _listing(conditions, value_set: ValueSet) -> str:
    return "; ".join(f"{_describe(c, value_set)}, {fmt_date(effective_time(c))}" for c in conditions[:3])


def _refs(*groups) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reference_of(c) for group in groups for c in group))


_UNCONFIRMED = {"provisional", "differential", "unconfirmed"}


def _unconfirmed(condition) -> bool:
    """condition-ver-status provisional, differential or unconfirmed: a working diagnosis, not an established one."""
    return bool({code for _, code in codings(condition.verificationStatus)} & _UNCONFIRMED)


def diagnosis_criterion(record: PatientRecord, knowledge: Knowledge) -> Criterion:
    """B-cell precursor ALL from Condition codes (entered-in-error and refuted ones are already dropped)."""
    sets = {name: knowledge.vs(name) for name in ("b-all", "t-all", "other-leukemia", "all-lineage-unstated")}
    found = {name: record.conditions_in(vs) for name, vs in sets.items()}
    b_all, t_all, other, unstated = (found[n] for n in ("b-all", "t-all", "other-leukemia", "all-lineage-unstated"))
    settle = "a diagnosis stating B-cell precursor lineage (" + ", ".join(
        f"{code} {sets['b-all'].displays.get((s, code), '')}".strip() for s, code in sorted(sets["b-all"].codes)) + ")"
    if b_all and t_all:
        return Criterion(Status.UNKNOWN, f"records disagree on the lineage: B-ALL ({_listing(b_all, sets['b-all'])}) "
                         f"and T-ALL ({_listing(t_all, sets['t-all'])})", _refs(b_all, t_all),
                         missing="the confirmed lineage (immunophenotype)")
    confirmed = [c for c in b_all if not _unconfirmed(c)]
    if b_all and not confirmed:
        return Criterion(Status.UNKNOWN, f"B-cell ALL recorded only as not yet confirmed (verification status "
                         f"provisional, differential or unconfirmed): {_listing(b_all, sets['b-all'])}", _refs(b_all),
                         missing="a confirmed B-cell precursor ALL diagnosis")
    if b_all:
        notes = (f"Another leukemia is also recorded ({_listing(other, sets['other-leukemia'])}): confirm the "
                 "disease being treated is B-cell precursor ALL.",) if other else ()
        return Criterion(Status.MET, f"B-cell ALL: {_listing(b_all, sets['b-all'])}", _refs(b_all), notes=notes)
    if t_all:
        return Criterion(Status.NOT_MET, f"T-cell ALL, no B-cell ALL recorded: {_listing(t_all, sets['t-all'])}",
                         _refs(t_all, unstated))
    if other and not unstated:
        return Criterion(Status.NOT_MET, f"not ALL: {_listing(other, sets['other-leukemia'])}; no B-cell ALL "
                         "recorded", _refs(other))
    if unstated:
        extra = f"; another leukemia is also recorded ({_listing(other, sets['other-leukemia'])})" if other else ""
        listed = _listing(unstated, sets["all-lineage-unstated"])
        return Criterion(Status.UNKNOWN, f"ALL without stated lineage: {listed}{extra}", _refs(unstated, other),
                         missing=settle,
                         notes=(knowledge.text("eligibility-lineage-unstated"),))
    return Criterion(Status.UNKNOWN, "no leukemia diagnosis recorded", missing=settle)


# --------------------------------------------------------------------------- relapsed / refractory

@dataclass(frozen=True)
class _Event:
    kind: str                    # "relapse", "refractory", "progression" or "remission"
    when: date | None
    reference: str
    what: str

    def line(self) -> str:
        return f"{self.what}, {fmt_date(self.when) if self.when else 'undated'} ({self.reference})"


@dataclass(frozen=True)
class DiseaseStatus:
    criterion: Criterion
    last_relapse: date | None    # the most recent dated relapse or progression, for the CD22 outdated check


def _condition_date(condition) -> date | None:
    """The latest date a Condition states (onset, recorded, abatement): when its status was last known to hold."""
    found = [to_datetime(getattr(condition, name, None)) for name in ("onsetDateTime", "recordedDate",
                                                                       "abatementDateTime")]
    period = getattr(condition, "onsetPeriod", None)
    if period is not None:
        found += [to_datetime(period.start), to_datetime(period.end)]
    dated = [d.date() for d in found if d is not None]
    return max(dated) if dated else None


def _clinical(condition) -> str | None:
    return next((code for _, code in codings(condition.clinicalStatus)), None)


def _condition_events(record: PatientRecord, knowledge: Knowledge) -> list[_Event]:
    vs = knowledge.vs
    leukemia = [c for name in ("b-all", "all-lineage-unstated") for c in record.conditions_in(vs(name))]
    is_leukemia = {id(c) for c in leukemia}
    events, seen = [], set()
    for condition in leukemia + record.conditions_in(vs("relapse-diagnosis")) + \
            record.conditions_in(vs("refractory-diagnosis")) + record.conditions_in(vs("response-cr-cri")):
        if id(condition) in seen:
            continue
        seen.add(id(condition))
        reference = reference_of(condition)
        when, status = _condition_date(condition), _clinical(condition)
        active = status is None or status in ACTIVE_STATUSES   # a relapse code marked resolved is history
        if id(condition) in is_leukemia and vs("relapse-clinical-status").matches(condition.clinicalStatus):
            events.append(_Event("relapse", when, reference, f"ALL diagnosis with clinicalStatus {status}"))
        if id(condition) in is_leukemia and vs("remission-clinical-status").matches(condition.clinicalStatus):
            events.append(_Event("remission", when, reference, f"ALL diagnosis with clinicalStatus {status}"))
        for kind, name in (("relapse", "relapse-diagnosis"), ("refractory", "refractory-diagnosis")):
            if active and vs(name).matches(condition.code):
                events.append(_Event(kind, when, reference, _describe(condition, vs(name))))
        if vs("response-cr-cri").matches(condition.code):
            events.append(_Event("remission", when, reference, _describe(condition, vs("response-cr-cri"))))
    return events


def _status_events(record: PatientRecord, knowledge: Knowledge, since: date) -> tuple[list[_Event], list[_Event]]:
    """Disease-status observations (mCODE 97509-4) in the window, and the older ones (named, left out)."""
    progression, remission = knowledge.vs("disease-progression"), knowledge.vs("response-cr-cri")
    events, stale = [], []
    for observation in record.observations_in(knowledge.vs("disease-status"), statuses=FINAL):
        moment = effective_time(observation)
        value = observation.valueCodeableConcept
        kind = "progression" if progression.matches(value) else "remission" if remission.matches(value) else None
        if kind is None:
            continue
        if moment is None or moment.date() < since:
            stale.append(_Event(kind, moment.date() if moment else None, reference_of(observation), kind))
            continue
        shown = _describe_value(value, progression if kind == "progression" else remission)
        events.append(_Event(kind, moment.date(), reference_of(observation), f"disease status {shown}"))
    return events, stale


def _describe_value(concept, value_set: ValueSet) -> str:
    for system, code in codings(concept):
        if value_set.has(system, code):
            return f"{code} {value_set.displays.get((system, code), '')}".strip()
    return "coded"


def disease_status(record: PatientRecord, knowledge: Knowledge, course: Course) -> DiseaseStatus:
    """Relapsed/refractory from conditions and disease status; on a course, the status at course start."""
    days = int(knowledge.value("lookback-disease-status-days"))
    observed, stale = _status_events(record, knowledge, window_start(record, course, days))
    events = _condition_events(record, knowledge) + observed
    relapses = [e.when for e in events if e.kind in ("relapse", "progression") and e.when]
    last_relapse = max(relapses) if relapses else None
    notes = [f"Disease-status results older than {days} days are treated as absent: "
             f"{', '.join(f'{e.reference} ({e.kind}, {fmt_date(e.when)})' for e in stale)}."] if stale else []
    if course.on_course:
        notes.insert(0, knowledge.text("eligibility-on-course"))
        events = _at_course_start(events, course)
    criterion = _decide(events, course, notes, knowledge.text("eligibility-remission-not-rr"))
    newer_remission = [e for e in stale if e.kind == "remission" and e.when and last_relapse and e.when > last_relapse]
    if criterion.status is Status.MET and newer_remission and not course.on_course:
        # An old relapse must not outlive a later remission just because that remission left the window.
        later = newer_remission[0]
        criterion = Criterion(Status.UNKNOWN, f"{criterion.detail}; but a later remission ({later.reference}, "
                              f"{fmt_date(later.when)}) is older than the window: the current status is not known",
                              criterion.evidence, missing="a current disease status (relapse or remission) within "
                              "the look-back window", notes=criterion.notes)
    if criterion.status is Status.UNKNOWN:
        criterion = _with_unknown_help(criterion, record, knowledge)
    return DiseaseStatus(criterion, last_relapse)


def _at_course_start(events: list[_Event], course: Course) -> list[_Event]:
    """Events up to the course start (R/R on the start day counts; a remission then is the course's own)."""
    if course.started is None:
        return events
    start = course.started.date()
    return [e for e in events if e.when is None or e.when < start or (e.when == start and e.kind != "remission")]


def _decide(events: list[_Event], course: Course, notes: list[str], remission_note: str) -> Criterion:
    rr = sorted((e for e in events if e.kind != "remission"), key=lambda e: e.when or date.min, reverse=True)
    remission = sorted((e for e in events if e.kind == "remission"), key=lambda e: e.when or date.min, reverse=True)
    refs = tuple(dict.fromkeys(e.reference for e in rr[:3] + remission[:3]))
    start = f" (status at the course start, {fmt_date(course.started)})" if course.started else ""
    if rr and not remission:
        return Criterion(Status.MET, f"{rr[0].kind}: {rr[0].line()}{start}", refs, notes=tuple(notes))
    if remission and not rr:
        if course.on_course and course.started is None:
            return Criterion(Status.UNKNOWN, f"remission: {remission[0].line()}; the course start date is unknown",
                             refs, missing="the date the inotuzumab course started", notes=tuple(notes))
        return Criterion(Status.NOT_MET, f"in remission: {remission[0].line()}; no relapse recorded since{start}",
                         refs, notes=(*notes, remission_note))
    if not rr:
        return Criterion(Status.UNKNOWN, "no relapse, refractory or remission status recorded", refs,
                         missing=_RR_MISSING, notes=tuple(notes))
    latest_rr, latest_remission = rr[0], remission[0]
    if any(e.when is None for e in rr + remission):
        return Criterion(Status.UNKNOWN, f"undated records cannot be ordered: {latest_rr.line()}; "
                         f"{latest_remission.line()}", refs, missing="the dates of the relapse and remission records",
                         notes=tuple(notes))
    if latest_rr.when > latest_remission.when:
        return Criterion(Status.MET, f"{latest_rr.kind}: {latest_rr.line()}, after remission "
                         f"({fmt_date(latest_remission.when)}){start}", refs, notes=tuple(notes))
    if latest_remission.when > latest_rr.when:
        return Criterion(Status.NOT_MET, f"in remission: {latest_remission.line()}; no relapse recorded since "
                         f"{latest_rr.kind} of {fmt_date(latest_rr.when)}{start}", refs, notes=(*notes, remission_note))
    return Criterion(Status.UNKNOWN, f"records of the same day disagree: {latest_rr.line()}; {latest_remission.line()}",
                     refs, missing="the current disease status (relapse or remission)", notes=tuple(notes))


_RR_MISSING = ("the disease status: a relapse (Condition.clinicalStatus relapse/recurrence, or a relapse code), "
               "a site refractory code, or a disease-status observation (LOINC 97509-4)")


def _with_unknown_help(criterion: Criterion, record: PatientRecord, knowledge: Knowledge) -> Criterion:
    """Add the C91.00 caveat when the only ALL code states neither relapse nor remission."""
    quiet = [c for c in record.conditions_in(knowledge.vs("all-lineage-unstated"))
             if not knowledge.vs("relapse-diagnosis").matches(c.code)
             and not knowledge.vs("response-cr-cri").matches(c.code)]
    if not quiet:
        return criterion
    note = knowledge.text("eligibility-c9100-not-refractory")
    return Criterion(criterion.status, criterion.detail, criterion.evidence, criterion.missing,
                     criterion.notes + (note,), criterion.critical)
