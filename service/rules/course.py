"""The inotuzumab course so far: prior doses, cycles, where the order being signed falls, and the response.

Cycles are rebuilt from dose dates with the label's schedule: doses on days 1, 8 and 15 (days 8 and 15
+/- 2 days), so a dose more than (last scheduled day + 2) days after a cycle's day 1 opens a new cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..fhirdates import effective_time, fmt_date
from ..knowledge import Knowledge
from ..orders import is_inotuzumab
from ..patient import PatientRecord, reference_of, relative_reference

DONE_REQUEST_STATUSES = {"active", "completed", "on-hold"}
DONE_ADMIN_STATUSES = {"completed", "in-progress"}


@dataclass(frozen=True)
class Dose:
    when: datetime
    reference: str


@dataclass(frozen=True)
class Response:
    status: str                      # "cr-cri", "no-cr-cri" or "unknown"
    detail: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Course:
    doses: tuple[Dose, ...]          # prior inotuzumab doses, oldest first (not the order being assessed)
    cycles: tuple[tuple[Dose, ...], ...]
    response: Response
    undated: tuple[str, ...] = ()    # prior inotuzumab records with no usable date, or history not retrievable
    cycle_span_days: int = 16        # a dose this many days or fewer after a cycle's day 1 belongs to that cycle

    @property
    def started(self) -> datetime | None:
        return self.doses[0].when if self.doses else None

    @property
    def on_course(self) -> bool:
        return bool(self.doses) or bool(self.undated)

    def position(self, now: datetime) -> tuple[int, bool]:
        """(cycle number of a dose given ``now``, whether that dose is day 1 of the cycle)."""
        if not self.cycles:
            return 1, True
        last = self.cycles[-1]
        within = (now - last[0].when) <= timedelta(days=self.cycle_span_days)
        if within and len(last) < 3:
            return len(self.cycles), False
        return len(self.cycles) + 1, True


def build_course(record: PatientRecord, knowledge: Knowledge) -> Course:
    draft_refs = {reference_of(o) for o in record.draft_orders}
    doses, undated = [], []
    candidates = [(r, DONE_REQUEST_STATUSES) for r in record.medication_requests] + \
                 [(a, DONE_ADMIN_STATUSES) for a in record.administrations]
    administered_requests = {relative_reference(getattr(a.request, "reference", None) or "")
                             for a in record.administrations if a.request}
    for resource, statuses in candidates:
        reference = reference_of(resource)
        if reference in draft_refs or resource.status not in statuses or not is_inotuzumab(record, knowledge, resource):
            continue
        if reference in administered_requests:
            continue  # the administration of this request already counts as the dose
        when = effective_time(resource)
        if when is None or when > record.now:
            undated.append(reference)
            continue
        doses.append(Dose(when, reference))
    if "inotuzumab-history" in record.unavailable:
        undated.append("inotuzumab history (could not be retrieved from the EHR)")
    doses = _one_per_day(doses)
    span = cycle_span_days(knowledge)
    cycles: list[list[Dose]] = []
    for dose in doses:
        if cycles and (dose.when - cycles[-1][0].when) <= timedelta(days=span):
            cycles[-1].append(dose)
        else:
            cycles.append([dose])
    started = doses[0].when if doses else None
    return Course(tuple(doses), tuple(tuple(c) for c in cycles), _response(record, knowledge, started),
                  tuple(undated), span)


def _one_per_day(doses: list[Dose]) -> list[Dose]:
    """Oldest first, one dose per calendar day: an order and its administration (or two records of one
    infusion) must not count twice; the label never gives two doses on one day."""
    kept: dict = {}
    for dose in sorted(doses, key=lambda d: d.when):
        kept.setdefault(dose.when.date(), dose)
    return list(kept.values())


def cycle_span_days(knowledge: Knowledge) -> int:
    """Days from a cycle's day 1 to its last possible dose: the regimens' last dose day, plus the label's window
    (days 8 and 15 +/- 2 days)."""
    last_day = max(day for regimen in knowledge.regimens.values() for day, _ in regimen.doses)
    return last_day - 1 + int(knowledge.value("dose-window-days"))


def _response(record: PatientRecord, knowledge: Knowledge, started: datetime | None) -> Response:
    if started is None:
        return Response("unknown", "no inotuzumab course on record")
    remission = knowledge.vs("response-cr-cri")
    progression = knowledge.vs("disease-progression")
    events = []
    for condition in record.conditions_in(remission):
        when = effective_time(condition)
        if when and when >= started:
            events.append((when, "cr-cri", reference_of(condition)))
    for observation in record.observations_in(knowledge.vs("disease-status"),
                                              statuses=("final", "amended", "corrected")):
        when = effective_time(observation)
        if not when or when < started:
            continue
        if remission.matches(observation.valueCodeableConcept):
            events.append((when, "cr-cri", reference_of(observation)))
        elif progression.matches(observation.valueCodeableConcept):
            events.append((when, "no-cr-cri", reference_of(observation)))
    if not events:
        return Response("unknown", f"no response assessment recorded since the course started {fmt_date(started)}")
    when, status, reference = max(events, key=lambda e: e[0])
    words = "CR/CRi" if status == "cr-cri" else "no CR/CRi (progression)"
    return Response(status, f"{words} recorded {fmt_date(when)} ({reference})", (reference,))
